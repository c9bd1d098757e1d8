import { useEffect, useRef, useState } from "preact/hooks";
import { get, query } from "../api";
import { money, shortId } from "../format";
import { href, navigate } from "../router";
import { STATUSES, type Order, type OrderPage } from "../types";
import { Age, ErrorMessage, Page, StatusBadge, TableScroll, useAsync } from "../ui";

const PAGE_SIZE = 20;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A reference is 8 symbols of Crockford's base32, dash optional; I, L and O read as 1, 1 and 0; no U.
const REFERENCE = /^[0-9a-tv-z]{4}-?[0-9a-tv-z]{4}$/i;

/** What the search box was read as. */
type Kind = "all" | "reference" | "customer";

interface Result {
  kind: Kind;
  page: OrderPage;
}

async function search(q: string, status: string, cursor: string | null, signal: AbortSignal): Promise<Result> {
  const list = (params: Record<string, string | number | null>) => get<OrderPage>(`/admin/orders${query(params)}`, signal);
  if (!q) return { kind: "all", page: await list({ status, limit: PAGE_SIZE, cursor }) };
  if (REFERENCE.test(q) && !cursor) {
    const page = await list({ reference: q });
    // "ABCD1234" may be a customer's id as well as a reference: without a match, it is read as the former.
    if (page.orders.length > 0 || q.includes("-")) return { kind: "reference", page };
  }
  return { kind: "customer", page: await list({ customerId: q, status, limit: PAGE_SIZE, cursor }) };
}

/**
 * Orders finds orders by customer, id, reference or status, newest first, a page at a time. The search
 * and the filter live in the URL (#/orders?q=…&status=…), so that the back button and a shared link
 * bring them back.
 */
export function Orders({ query: params }: { query: URLSearchParams }) {
  const q = params.get("q") ?? "";
  const status = params.get("status") ?? "";
  const [text, setText] = useState(q);
  const [filter, setFilter] = useState(status);
  // Cursors of the pages before the current one, and the current one's.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1];

  // A new search in the URL (back button, a link) replaces what the form holds; the first render has it
  // already, and resetting then would wipe what the user typed meanwhile.
  const shown = useRef({ q, status });
  useEffect(() => {
    if (shown.current.q === q && shown.current.status === status) return;
    shown.current = { q, status };
    setText(q);
    setFilter(status);
    setCursors([null]);
  }, [q, status]);

  const res = useAsync((signal) => search(q, status, cursor, signal), [q, status, cursor]);

  const submit = (e: Event) => {
    e.preventDefault();
    const t = text.trim();
    if (UUID.test(t)) {
      navigate(href("orders", t.toLowerCase()));
      return;
    }
    navigate(`${href("orders")}${query({ q: t, status: filter })}`);
  };

  const r = res.value;
  const describe =
    r?.kind === "reference"
      ? `Order with reference ${r.page.orders[0]?.reference ?? q.toUpperCase()}`
      : r?.kind === "customer"
        ? `Orders of customer ${q}${status ? ` in ${status}` : ""}, newest first`
        : `All orders${status ? ` in ${status}` : ""}, newest first`;

  return (
    <Page title="Orders">
      <form class="search" role="search" onSubmit={submit} aria-label="Find orders">
        <div class="field grow">
          <label for="order-search">Customer, order id or reference</label>
          <input
            id="order-search"
            type="search"
            value={text}
            placeholder="customer123, 7K3M-Q9TX or an order id"
            onInput={(e) => setText(e.currentTarget.value)}
            spellcheck={false}
            autoComplete="off"
          />
        </div>
        <div class="field">
          <label for="order-status">Status</label>
          <select id="order-status" value={filter} onChange={(e) => setFilter(e.currentTarget.value)}>
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option value={s} key={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Search</button>
      </form>
      {r?.kind === "reference" && status && <p class="muted">A reference names one order: the status filter does not apply.</p>}
      <ErrorMessage error={res.error} />
      {r && (
        <section aria-labelledby="results-title" aria-busy={res.loading}>
          <h2 id="results-title">{describe}</h2>
          {r.page.orders.length === 0 ? (
            <p>No orders found.</p>
          ) : (
            <OrderTable orders={r.page.orders} caption={describe} />
          )}
          {(cursors.length > 1 || r.page.nextCursor) && (
            <nav class="pager" aria-label="Pages of orders">
              <button type="button" class="secondary" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
                Newer
              </button>
              <span class="muted">Page {cursors.length}</span>
              <button
                type="button"
                class="secondary"
                disabled={!r.page.nextCursor}
                onClick={() => r.page.nextCursor && setCursors((c) => [...c, r.page.nextCursor!])}
              >
                Older
              </button>
            </nav>
          )}
        </section>
      )}
    </Page>
  );
}

function OrderTable({ orders, caption }: { orders: Order[]; caption: string }) {
  return (
    <TableScroll label={caption}>
      <table>
        <thead>
          <tr>
            <th scope="col">Reference</th>
            <th scope="col">Status</th>
            <th scope="col">Customer</th>
            <th scope="col" class="num">
              Items
            </th>
            <th scope="col" class="num">
              Total
            </th>
            <th scope="col">Placed</th>
          </tr>
        </thead>
        <tbody>
          {orders.map((o) => (
            <tr key={o.orderId}>
              <th scope="row">
                <a href={href("orders", o.orderId)}>{o.reference || shortId(o.orderId)}</a>
              </th>
              <td>
                <StatusBadge status={o.status} />
              </td>
              <td>{o.customerId}</td>
              <td class="num">{o.items.reduce((n, i) => n + i.quantity, 0)}</td>
              <td class="num">{money(o.totalAmount, o.currency)}</td>
              <td>
                <Age at={o.createdAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}
