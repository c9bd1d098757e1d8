import { get } from "../api";
import { duration, num } from "../format";
import type { SchemaDescription, SchemaSummary, Subscription } from "../types";
import { Age, ErrorMessage, Json, OrderLink, Page, TableScroll, useAsync } from "../ui";

interface EventType {
  summary: SchemaSummary;
  schema?: unknown;
  example?: unknown;
  description?: string;
  version?: string;
  error?: string;
}

async function loadTypes(signal: AbortSignal): Promise<EventType[]> {
  const list = await get<{ Schemas: SchemaSummary[] }>("/schemas", signal);
  return Promise.all(
    list.Schemas.map(async (summary): Promise<EventType> => {
      try {
        const d = await get<SchemaDescription>(`/schemas/${encodeURIComponent(summary.SchemaName)}`, signal);
        const schema = JSON.parse(d.Content) as { examples?: unknown[] };
        return { summary, schema, example: schema.examples?.[0], description: d.Description, version: d.SchemaVersion };
      } catch (err) {
        return { summary, error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
}

/**
 * Events lists every event type of the schema registry with its JSON Schema and an example, and the
 * webhook subscriptions of other teams with their recent deliveries and failures.
 */
export function Events() {
  const types = useAsync(loadTypes, []);
  const subs = useAsync((s) => get<{ subscriptions: Subscription[] }>("/admin/subscriptions", s), []);

  return (
    <Page
      title="Events"
      actions={
        <button type="button" class="secondary" onClick={() => subs.reload()}>
          Refresh deliveries
        </button>
      }
    >
      <section aria-labelledby="subs-title">
        <h2 id="subs-title">Webhook subscriptions</h2>
        <ErrorMessage error={subs.error} />
        {subs.value &&
          (subs.value.subscriptions.length === 0 ? (
            <p class="muted">No subscription. Other teams subscribe with orderflow serve --subscriptions FILE.</p>
          ) : (
            subs.value.subscriptions.map((s) => <SubscriptionView key={s.name} s={s} />)
          ))}
      </section>

      <section aria-labelledby="types-title">
        <h2 id="types-title">Event types {types.value && <span class="muted">({types.value.length})</span>}</h2>
        <ErrorMessage error={types.error} />
        {types.value && (
          <ul class="event-types">
            {types.value.map((t) => {
              const [source, detailType] = t.summary.SchemaName.split("@");
              return (
                <li key={t.summary.SchemaName} class="event-type" aria-labelledby={`type-${t.summary.SchemaName}`}>
                  <h3 id={`type-${t.summary.SchemaName}`}>
                    {detailType} <span class="muted">{source}</span>
                  </h3>
                  <p class="muted">
                    Version {t.version ?? t.summary.SchemaVersions?.at(-1)?.SchemaVersion ?? "?"}
                    {t.summary.VersionCount > 1 && ` (${t.summary.VersionCount} versions)`}
                  </p>
                  {t.description && <p>{t.description}</p>}
                  <ErrorMessage error={t.error} />
                  {t.schema !== undefined && (
                    <details>
                      <summary>Schema</summary>
                      <Json value={t.schema} label={`Schema of ${t.summary.SchemaName}`} />
                    </details>
                  )}
                  {t.example !== undefined && (
                    <details>
                      <summary>Example</summary>
                      <Json value={t.example} label={`Example of ${t.summary.SchemaName}`} />
                    </details>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </section>
    </Page>
  );
}

function SubscriptionView({ s }: { s: Subscription }) {
  const recent = s.recent ?? [];
  return (
    <article class="subscription" aria-labelledby={`sub-${s.name}`}>
      <h3 id={`sub-${s.name}`}>{s.name}</h3>
      <dl class="facts">
        <dt>Endpoint</dt>
        <dd>
          <code>{s.endpoint}</code>
        </dd>
        <dt>Pattern</dt>
        <dd>
          <code>{JSON.stringify(s.eventPattern)}</code>
        </dd>
        <dt>Deliveries</dt>
        <dd>
          <span data-testid={`delivered-${s.name}`}>{num(s.delivered)}</span> delivered,{" "}
          <span data-testid={`failed-${s.name}`} class={s.failed > 0 ? "bad-text" : ""}>
            {num(s.failed)}
          </span>{" "}
          failed attempts since start
        </dd>
      </dl>
      {recent.length === 0 ? (
        <p class="muted">No delivery yet.</p>
      ) : (
        <TableScroll label={`Recent deliveries to ${s.name}`}>
          <table>
            <caption>Recent deliveries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event</th>
                <th scope="col">Order</th>
                <th scope="col">Result</th>
                <th scope="col" class="num">
                  Took
                </th>
              </tr>
            </thead>
            <tbody>
              {recent.map((d, i) => (
                <tr key={`${d.eventId}-${d.at}-${i}`} class={d.ok ? "" : "failed"}>
                  <th scope="row">
                    <Age at={d.at} />
                  </th>
                  <td>{d.detailType}</td>
                  <td>{d.orderId ? <OrderLink id={d.orderId} /> : <span class="muted">none</span>}</td>
                  <td>
                    <span class={d.ok ? "result ok" : "result bad"}>
                      {d.ok ? "delivered" : "failed"} {d.statusCode > 0 ? d.statusCode : ""}
                    </span>
                    {d.error && <span class="muted wrap"> {d.error}</span>}
                  </td>
                  <td class="num">{duration(d.durationMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </article>
  );
}
