import { useEffect, useRef, useState } from "preact/hooks";
import { message, request } from "../api";
import type { ChatTrace } from "../types";
import { ErrorMessage, Json, OrderLink, Page } from "../ui";

interface Turn {
  customerId: string;
  query: string;
  trace: ChatTrace;
}

/**
 * Chatbot asks the chatbot as a given customer (POST /admin/chatbot) and shows its answer, where the
 * answer came from (the model, or the offline responder) and every tool call with its input and output.
 * Follow-up questions of the same customer continue the conversation (same session id).
 */
export function Chatbot() {
  const [customerId, setCustomerId] = useState("customer123");
  const [text, setText] = useState("");
  const [turns, setTurns] = useState<Turn[]>([]);
  const [session, setSession] = useState<{ customerId: string; id: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const latest = useRef<HTMLElement>(null);

  useEffect(() => {
    latest.current?.scrollIntoView({ block: "nearest" });
  }, [turns.length]);

  const ask = async (e: Event) => {
    e.preventDefault();
    const q = text.trim();
    const c = customerId.trim();
    if (!q || !c) {
      setError(!c ? "Enter the customer to ask as." : "Enter a question.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const sessionId = session && session.customerId === c ? session.id : undefined;
      const res = await request<ChatTrace>("/admin/chatbot", { method: "POST", body: { query: q, customerId: c, ...(sessionId ? { sessionId } : {}) } });
      setSession({ customerId: c, id: res.body.sessionId });
      setTurns((t) => [...t, { customerId: c, query: q, trace: res.body }]);
      setText("");
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page
      title="Chatbot"
      actions={
        turns.length > 0 && (
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setTurns([]);
              setSession(null);
            }}
          >
            New conversation
          </button>
        )
      }
    >
      <p class="muted">Ask what a customer would ask. The chatbot sees only that customer's orders.</p>
      <section aria-label="Conversation" class="conversation">
        {turns.map((t, i) => (
          <article key={i} class="turn" ref={i === turns.length - 1 ? latest : undefined} aria-label={`Answer ${i + 1}`}>
            <p class="question">
              <span class="who">{t.customerId} asked</span> {t.query}
            </p>
            <div class="answer">
              <p class="who">
                Answer{" "}
                <span class={`source source-${t.trace.source}`} data-testid="answer-source">
                  {t.trace.source === "model" ? "from the model" : t.trace.source === "fallback" ? "from the offline responder (fallback)" : t.trace.source}
                </span>
              </p>
              <p class="text" data-testid="answer-text">
                {t.trace.answer}
              </p>
              {t.trace.orderIds && t.trace.orderIds.length > 0 && (
                <p class="muted">
                  About:{" "}
                  {t.trace.orderIds.map((id, j) => (
                    <span key={id}>
                      {j > 0 && ", "}
                      <OrderLink id={id} />
                    </span>
                  ))}
                </p>
              )}
            </div>
            <details class="tools" open>
              <summary>
                {t.trace.toolCalls?.length ?? 0} tool call{t.trace.toolCalls?.length === 1 ? "" : "s"}
              </summary>
              <ol aria-label="Tool calls">
                {(t.trace.toolCalls ?? []).map((c, j) => (
                  <li key={j} class={c.error ? "tool failed" : "tool"}>
                    <p>
                      <code class="tool-name">{c.name}</code> {c.error && <span class="error-inline">failed: {c.error}</span>}
                    </p>
                    <div class="io">
                      <div>
                        <p class="muted">Input</p>
                        <Json value={c.input} label={`Input of ${c.name}`} />
                      </div>
                      {c.output !== undefined && (
                        <div>
                          <p class="muted">Output</p>
                          <Json value={c.output} label={`Output of ${c.name}`} />
                        </div>
                      )}
                    </div>
                  </li>
                ))}
              </ol>
            </details>
          </article>
        ))}
      </section>
      <form class="ask" onSubmit={ask}>
        <div class="field">
          <label for="chat-customer">Customer id</label>
          <input id="chat-customer" type="text" value={customerId} onInput={(e) => setCustomerId(e.currentTarget.value)} autoComplete="off" spellcheck={false} />
        </div>
        <div class="field grow">
          <label for="chat-question">Question</label>
          <textarea
            id="chat-question"
            rows={2}
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey) {
                e.preventDefault();
                (e.currentTarget.form as HTMLFormElement | null)?.requestSubmit();
              }
            }}
            placeholder="Where is my order?"
          />
        </div>
        <button type="submit" disabled={busy}>
          {busy ? "Asking…" : "Ask"}
        </button>
      </form>
      <ErrorMessage error={error} />
    </Page>
  );
}
