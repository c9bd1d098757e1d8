// How the console writes money, times and durations: in the reader's locale and time zone.

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** money writes an amount as the API gives it, with its currency: "€1,299.99", "¥1,300". */
export function money(amount: number, currency = "EUR"): string {
  let f = moneyFormats.get(currency);
  if (!f) {
    try {
      f = new Intl.NumberFormat(undefined, { style: "currency", currency });
    } catch {
      return `${amount} ${currency}`;
    }
    moneyFormats.set(currency, f);
  }
  return f.format(amount);
}

const plain = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const count = new Intl.NumberFormat();

/** price writes a catalog price, which has no currency. */
export function price(amount: number): string {
  return plain.format(amount);
}

export function num(n: number): string {
  return count.format(n);
}

/**
 * millis reads an RFC 3339 time into milliseconds since the epoch, keeping the microseconds that
 * Date.parse drops, so that steps of a 10 ms pipeline get their own durations.
 */
export function millis(at: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$/.exec(at);
  if (!m) return Date.parse(at);
  const frac = m[2] ? Number(`0${m[2]}`) : 0;
  return Date.parse(m[1] + m[3]) + frac * 1000;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

/** localTime writes a time in the reader's time zone. */
export function localTime(at: string): string {
  const t = millis(at);
  return Number.isNaN(t) ? at : dateTime.format(t);
}

export function clock(at: string | number): string {
  const t = typeof at === "number" ? at : millis(at);
  return Number.isNaN(t) ? String(at) : timeOnly.format(t);
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** age writes how long ago a time was: "5 seconds ago", "3 minutes ago". */
export function age(at: string, now = Date.now()): string {
  const s = Math.round((millis(at) - now) / 1000);
  const a = Math.abs(s);
  if (a < 60) return relative.format(s, "second");
  if (a < 3600) return relative.format(Math.round(s / 60), "minute");
  if (a < 86400) return relative.format(Math.round(s / 3600), "hour");
  return relative.format(Math.round(s / 86400), "day");
}

/** duration writes a span of milliseconds: "0.4 ms", "12 ms", "1.5 s", "3 min 4 s", "2 h 5 min". */
export function duration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const m = Math.round(s / 60);
  if (m < 1440) return `${Math.floor(m / 60)} h ${m % 60} min`;
  return `${Math.floor(m / 1440)} d ${Math.floor((m % 1440) / 60)} h`;
}

/** statusClass is the CSS class of a status badge; the status itself is written as the API says it. */
export function statusClass(status: string): string {
  return `status status-${status.toLowerCase().replace(/_/g, "-")}`;
}

/**
 * shortId names an order without its reference by the end of its id: order ids are UUIDv7, whose first
 * characters are the time, the same for orders placed together.
 */
export function shortId(id: string): string {
  return id.length > 12 ? `…${id.slice(-8)}` : id;
}

export function json(v: unknown): string {
  return JSON.stringify(v, null, 2);
}
