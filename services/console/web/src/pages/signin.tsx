import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, request } from "../api";
import type { LiveSnapshot } from "../types";

/**
 * SignIn asks for an admin key and checks it with GET /admin/live: 200 signs in; 403 is a refusal (an
 * unknown key, or a client key, which cannot use the admin endpoints).
 */
export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: (key: string) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);

  const submit = async (e: Event) => {
    e.preventDefault();
    const k = key.trim();
    if (!k) {
      setError("Enter the admin API key.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await request<LiveSnapshot>("/admin/live", { key: k, keepOnRefusal: true });
      onSignedIn(k);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        setError("Refused: this is not an admin key. Use the admin key from the banner of orderflow serve (ofadm_…) or data/api-keys.json.");
      } else if (err instanceof ApiError) {
        setError(`Could not check the key: ${err.describe()}`);
      } else {
        setError(`Could not check the key: ${String(err)}`);
      }
      input.current?.select();
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="signin">
      <form onSubmit={submit} aria-labelledby="signin-title" noValidate>
        <h1 id="signin-title">
          orderflow <span>console</span>
        </h1>
        <p class="muted">Sign in with an admin API key. It stays in this tab only and is forgotten when the tab closes.</p>
        {notice && !error && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <label for="admin-key">Admin API key</label>
        <input
          id="admin-key"
          ref={input}
          type="password"
          autoComplete="current-password"
          spellcheck={false}
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "signin-error" : undefined}
        />
        {error && (
          <p id="signin-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
