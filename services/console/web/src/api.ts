// The console's one way to the REST API: every request carries the admin key from the tab's session
// storage in the X-API-Key header (never in a URL), and every error body becomes an ApiError.

const KEY_NAME = "orderflow.adminKey";

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_NAME);
  } catch {
    return null;
  }
}

export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY_NAME);
  else sessionStorage.setItem(KEY_NAME, key);
}

/** One entry of an error body's details: the field and what is wrong with it. */
export interface ErrorDetail {
  field: string;
  issue: string;
}

/** An answer other than 2xx (status 0: the server could not be reached). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The message with its details, as one line for a person. */
  describe(): string {
    const d = this.details.map((x) => (x.field ? `${x.field}: ${x.issue}` : x.issue));
    return [this.message, ...d].join("; ");
  }
}

/** Called when the server refuses the key (401/403), so the app can sign out. */
let onRefused: (e: ApiError) => void = () => {};

export function setRefusedHandler(f: (e: ApiError) => void): void {
  onRefused = f;
}

export interface Options {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Key to use instead of the stored one (the sign-in check). */
  key?: string;
  /** Don't sign out on 401/403 (the sign-in check). */
  keepOnRefusal?: boolean;
}

export interface Answer<T> {
  body: T;
  status: number;
  headers: Headers;
}

/** request sends one request and returns its decoded JSON body, or throws an ApiError. */
export async function request<T>(path: string, opts: Options = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
  const key = opts.key ?? storedKey();
  if (key) headers["X-API-Key"] = key;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method: opts.method ?? "GET", headers, body, signal: opts.signal, cache: "no-store" });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "UNREACHABLE", "The server could not be reached.");
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!res.ok) {
    const e = (parsed as { error?: { code?: string; message?: string; details?: ErrorDetail[] } } | undefined)?.error;
    const err = new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `${res.status} ${res.statusText}`, e?.details ?? []);
    if ((res.status === 401 || res.status === 403) && !opts.keepOnRefusal) onRefused(err);
    throw err;
  }
  return { body: parsed as T, status: res.status, headers: res.headers };
}

/** get is request for a GET that needs only the body. */
export async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await request<T>(path, { signal })).body;
}

/** query builds "?a=b&..." from the non-empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function message(err: unknown): string {
  if (err instanceof ApiError) return err.describe();
  if (err instanceof Error) return err.message;
  return String(err);
}

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === "AbortError";
}
