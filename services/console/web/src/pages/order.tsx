import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, get, message, request } from "../api";
import { duration, millis, money, shortId } from "../format";
import { href } from "../router";
import { listen } from "../stream";
import { CANCELLABLE, FINAL, type Envelope, type Order, type Text } from "../types";
import { announce, ErrorMessage, Json, Page, StatusBadge, TableScroll, useAsync, useNow, When } from "../ui";

/**
 * OrderPage is one order: its timeline (each status with the time spent in it), the events published
 * about it, the texts sent, the shipment or the failure, and a cancel button while it can be cancelled.
 * It reloads when the live stream carries an event about the order.
 */
export function OrderPage({ id }: { id: string }) {
  const order = useAsync((s) => get<Order>(`/orders/${encodeURIComponent(id)}`, s), [id]);
  const events = useAsync((s) => get<{ events: Envelope[] }>(`/orders/${encodeURIComponent(id)}/events`, s), [id]);
  const texts = useAsync((s) => get<{ texts: Text[] }>(`/admin/orders/${encodeURIComponent(id)}/texts`, s), [id]);
  const reloads = useRef({ order, events, texts });
  reloads.current = { order, events, texts };

  useEffect(() => {
    let t: ReturnType<typeof setTimeout> | undefined;
    const off = listen({
      event: (e) => {
        if (e.orderId !== id) return;
        // Events come in bursts (a whole pipeline in ~10 ms): reload once the burst is over.
        clearTimeout(t);
        t = setTimeout(() => {
          reloads.current.order.reload();
          reloads.current.events.reload();
          reloads.current.texts.reload();
        }, 150);
      },
    });
    return () => {
      clearTimeout(t);
      off();
    };
  }, [id]);

  const o = order.value;
  if (!o) {
    return (
      <Page title="Order">
        {order.error ? <ErrorMessage error={order.error} /> : <p class="muted">Loading…</p>}
        <p>
          <a href={href("orders")}>Back to orders</a>
        </p>
      </Page>
    );
  }

  return (
    <Page
      title={
        <>
          Order {o.reference || shortId(o.orderId)} <StatusBadge status={o.status} />
        </>
      }
      actions={
        CANCELLABLE.has(o.status) && (
          <CancelButton
            order={o}
            onDone={(updated) => {
              order.setValue(updated);
              events.reload();
              texts.reload();
            }}
          />
        )
      }
    >
      <ErrorMessage error={order.error} />
      <div class="columns">
        <section aria-labelledby="summary-title">
          <h2 id="summary-title">Summary</h2>
          <dl class="facts">
            <dt>Order id</dt>
            <dd>
              <code>{o.orderId}</code>
            </dd>
            <dt>Customer</dt>
            <dd>
              <a href={`${href("orders")}?q=${encodeURIComponent(o.customerId)}`}>{o.customerId}</a>
            </dd>
            <dt>Contact</dt>
            <dd>
              {o.customerEmail}
              {o.customerPhone && <>, {o.customerPhone}</>}
            </dd>
            <dt>Total</dt>
            <dd>{money(o.totalAmount, o.currency)}</dd>
            <dt>Ship to</dt>
            <dd>
              {o.shippingAddress.street}, {o.shippingAddress.zipCode} {o.shippingAddress.city}, {o.shippingAddress.state},{" "}
              {o.shippingAddress.country}
            </dd>
            <dt>Placed</dt>
            <dd>
              <When at={o.createdAt} />
            </dd>
            <dt>Updated</dt>
            <dd>
              <When at={o.updatedAt} />
            </dd>
          </dl>
          {o.shipment && (
            <div class="panel ok" aria-labelledby="shipment-title">
              <h3 id="shipment-title">Shipment</h3>
              <dl class="facts">
                <dt>Carrier</dt>
                <dd>{o.shipment.carrier}</dd>
                <dt>Tracking number</dt>
                <dd>
                  <code>{o.shipment.trackingNumber}</code>
                </dd>
                <dt>Estimated delivery</dt>
                <dd>{o.shipment.estimatedDelivery}</dd>
              </dl>
            </div>
          )}
          {o.failure && (
            <div class="panel bad" aria-labelledby="failure-title">
              <h3 id="failure-title">Failure</h3>
              <dl class="facts">
                <dt>Stage</dt>
                <dd>{o.failure.stage}</dd>
                <dt>Code</dt>
                <dd>
                  <code>{o.failure.code}</code>
                </dd>
                <dt>Reason</dt>
                <dd>{o.failure.reason}</dd>
              </dl>
            </div>
          )}
        </section>
        <section aria-labelledby="timeline-title">
          <h2 id="timeline-title">Timeline</h2>
          <Timeline order={o} />
        </section>
      </div>

      <section aria-labelledby="items-title">
        <h2 id="items-title">Items</h2>
        <TableScroll label="Items">
          <table>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Name</th>
                <th scope="col" class="num">
                  Quantity
                </th>
                <th scope="col" class="num">
                  Price
                </th>
                <th scope="col" class="num">
                  Line total
                </th>
              </tr>
            </thead>
            <tbody>
              {o.items.map((i) => (
                <tr key={i.productId}>
                  <th scope="row">
                    <code>{i.productId}</code>
                  </th>
                  <td>{i.name}</td>
                  <td class="num">{i.quantity}</td>
                  <td class="num">{money(i.price, o.currency)}</td>
                  <td class="num">{money(Math.round(i.price * i.quantity * 100) / 100, o.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      </section>

      <section aria-labelledby="texts-title">
        <h2 id="texts-title">Texts sent</h2>
        <ErrorMessage error={texts.error} />
        {texts.value &&
          (texts.value.texts.length === 0 ? (
            <p class="muted">No text sent yet.</p>
          ) : (
            <ul class="texts">
              {texts.value.texts.map((t) => (
                <li key={t.id}>
                  <p class="meta">
                    To <strong>{t.to || "the operations channel"}</strong>, <When at={t.sentAt} />
                  </p>
                  <pre class="sms">{t.text}</pre>
                </li>
              ))}
            </ul>
          ))}
      </section>

      <section aria-labelledby="events-title">
        <h2 id="events-title">Events published</h2>
        <ErrorMessage error={events.error} />
        {events.value &&
          (events.value.events.length === 0 ? (
            <p class="muted">No event yet.</p>
          ) : (
            <ol class="envelopes">
              {events.value.events.map((e) => (
                <li key={e.id}>
                  <details>
                    <summary>
                      <strong>{e["detail-type"]}</strong> <span class="muted">{e.source}</span> <When at={e.time} relative={false} />
                    </summary>
                    <Json value={e} label={`Envelope of ${e["detail-type"]}`} />
                  </details>
                </li>
              ))}
            </ol>
          ))}
      </section>
    </Page>
  );
}

/** Timeline lists the order's statuses, each with the time spent in it (until now for the current one). */
function Timeline({ order }: { order: Order }) {
  const history = order.history ?? [{ status: order.status, at: order.updatedAt }];
  const last = history[history.length - 1];
  const open = last && !FINAL.has(last.status);
  const now = useNow(open ? 1000 : 0);
  return (
    <ol class="timeline" aria-label="Status history">
      {history.map((h, i) => {
        const next = history[i + 1];
        const spent = next ? millis(next.at) - millis(h.at) : FINAL.has(h.status) ? null : now - millis(h.at);
        return (
          <li key={`${h.status}-${h.at}`} class={next ? "done" : "current"}>
            <StatusBadge status={h.status} />
            <span class="when">
              <When at={h.at} relative={false} />
            </span>
            <span class="spent">{spent === null ? "final" : next ? duration(spent) : `${duration(spent)} so far`}</span>
          </li>
        );
      })}
    </ol>
  );
}

/** CancelButton asks once more before it cancels. */
function CancelButton({ order, onDone }: { order: Order; onDone: (o: Order) => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) yes.current?.focus();
  }, [confirming]);

  const cancel = async () => {
    setBusy(true);
    setError(null);
    try {
      const res = await request<Order>(`/orders/${encodeURIComponent(order.orderId)}/cancel`, { method: "POST" });
      announce(`Order ${order.reference ?? order.orderId} cancelled.`);
      onDone(res.body);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 409 ? `It can no longer be cancelled: ${err.message}` : message(err));
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };

  if (!confirming) {
    return (
      <div class="cancel">
        <button type="button" class="danger" onClick={() => setConfirming(true)}>
          Cancel order
        </button>
        <ErrorMessage error={error} />
      </div>
    );
  }
  return (
    <div class="cancel confirm" role="group" aria-label="Confirm cancellation">
      <span>Cancel this order? Stock is released and the payment voided.</span>
      <button type="button" class="danger" ref={yes} disabled={busy} onClick={cancel}>
        Yes, cancel it
      </button>
      <button type="button" class="secondary" disabled={busy} onClick={() => setConfirming(false)}>
        Keep it
      </button>
    </div>
  );
}
