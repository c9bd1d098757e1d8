import { useEffect, useRef, useState } from "preact/hooks";
import { get, message, request } from "../api";
import { num } from "../format";
import { listen } from "../stream";
import type { DeadLetterList } from "../types";
import { Age, announce, ErrorMessage, OrderLink, Page, TableScroll, useAsync } from "../ui";

const LIMIT = 200;

/**
 * DeadLetters lists the messages that exhausted their deliveries, each with its target, error, attempts
 * and age, and redrives one or all of them. The list reloads when the live stream's dead-letter count
 * changes.
 */
export function DeadLetters() {
  const list = useAsync((s) => get<DeadLetterList>(`/admin/dead-letters?limit=${LIMIT}`, s), []);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const total = useRef<number | undefined>(undefined);
  total.current = list.value?.total;
  const reload = useRef(list.reload);
  reload.current = list.reload;

  useEffect(
    () =>
      listen({
        snapshot: (s) => {
          if (total.current !== undefined && s.deadLetters !== total.current) reload.current();
        },
      }),
    [],
  );

  const redrive = async (body: { ids: number[] } | { all: true }, what: string) => {
    setBusy(true);
    setError(null);
    try {
      const res = await request<{ redriven: number }>("/admin/dead-letters/redrive", { method: "POST", body });
      announce(`${what}: ${res.body.redriven} sent back to delivery.`);
      list.reload();
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  const v = list.value;
  return (
    <Page
      title="Dead letters"
      actions={
        v &&
        v.total > 0 && (
          <button type="button" disabled={busy} onClick={() => redrive({ all: true }, "Redrive all")}>
            Redrive all ({num(v.total)})
          </button>
        )
      }
    >
      <ErrorMessage error={list.error ?? error} />
      {v &&
        (v.deadLetters.length === 0 ? (
          <p class="empty" data-testid="no-dead-letters">
            No dead letters: every message was delivered.
          </p>
        ) : (
          <>
            <p class="muted">
              {v.total > v.deadLetters.length ? `The oldest ${num(v.deadLetters.length)} of ${num(v.total)}.` : `${num(v.total)} in all, oldest first.`}
            </p>
            <TableScroll label="Dead letters">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Id</th>
                    <th scope="col">Target</th>
                    <th scope="col">Event</th>
                    <th scope="col">Order</th>
                    <th scope="col">Error</th>
                    <th scope="col" class="num">
                      Attempts
                    </th>
                    <th scope="col">Age</th>
                    <th scope="col">
                      <span class="sr-only">Action</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {v.deadLetters.map((d) => (
                    <tr key={d.id}>
                      <th scope="row">{d.id}</th>
                      <td>
                        <code>{d.target}</code>
                      </td>
                      <td>{d.detailType}</td>
                      <td>{d.orderId ? <OrderLink id={d.orderId} /> : <span class="muted">none</span>}</td>
                      <td class="wrap">{d.error}</td>
                      <td class="num">{d.attempts}</td>
                      <td>
                        <Age at={d.failedAt} />
                      </td>
                      <td>
                        <button
                          type="button"
                          class="secondary small"
                          disabled={busy}
                          aria-label={`Redrive dead letter ${d.id}`}
                          onClick={() => redrive({ ids: [d.id] }, `Dead letter ${d.id}`)}
                        >
                          Redrive
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          </>
        ))}
    </Page>
  );
}
