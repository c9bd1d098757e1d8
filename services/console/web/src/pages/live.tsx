import { Fragment } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { Chart } from "../chart";
import { clock, duration, num, shortId } from "../format";
import { href } from "../router";
import { listen, type ConnectionState } from "../stream";
import type { LiveEvent, LiveSnapshot } from "../types";
import { Page, StatusBadge, TableScroll } from "../ui";

const FEED_LENGTH = 30;

/**
 * Live shows the pipeline right now, from the server's own event stream: orders per status, orders
 * created and completed per second and their create→completed latency over the last minutes, failures
 * by stage and code, the dead-letter depth, and the latest events.
 */
export function Live() {
  const [snap, setSnap] = useState<LiveSnapshot | null>(null);
  const [feed, setFeed] = useState<LiveEvent[]>([]);
  const [conn, setConn] = useState<{ state: ConnectionState; detail?: string }>({ state: "connecting" });

  useEffect(
    () =>
      listen({
        snapshot: setSnap,
        event: (e) => setFeed((f) => [e, ...f].slice(0, FEED_LENGTH)),
        state: (state, detail) => setConn({ state, detail }),
      }),
    [],
  );

  const charts = useMemo(() => {
    const s = snap?.series ?? [];
    const x = s.map((p) => Date.parse(p.at) / 1000);
    const lastMinute = s.slice(-60);
    const sum = (k: "created" | "completed" | "failed") => lastMinute.reduce((n, p) => n + p[k], 0);
    const latest = [...s].reverse().find((p) => p.latencyP50Ms !== undefined);
    return {
      rate: [x, s.map((p) => p.created), s.map((p) => p.completed), s.map((p) => p.failed)] as [number[], ...(number | null)[][]],
      latency: [x, s.map((p) => p.latencyP50Ms ?? null), s.map((p) => p.latencyP99Ms ?? null)] as [number[], ...(number | null)[][]],
      rateSummary: `In the last minute: ${num(sum("created"))} created, ${num(sum("completed"))} completed, ${num(sum("failed"))} failed.`,
      latencySummary: latest
        ? `Latest second with completions (${clock(latest.at)}): p50 ${duration(latest.latencyP50Ms!)}, p99 ${duration(latest.latencyP99Ms ?? latest.latencyP50Ms!)}.`
        : "No order completed in the last minutes.",
    };
  }, [snap]);

  const connLabel =
    conn.state === "open" ? "Live" : conn.state === "connecting" ? "Connecting…" : `Reconnecting${conn.detail ? ` (${conn.detail})` : ""}…`;

  return (
    <Page
      title="Live"
      actions={
        <p class={`conn conn-${conn.state}`} role="status" data-testid="stream-state">
          <span class="dot" aria-hidden="true" />
          {connLabel}
          {snap && <span class="muted"> · {clock(snap.at)}</span>}
        </p>
      }
    >
      <section aria-labelledby="statuses-title">
        <h2 id="statuses-title">Orders per status</h2>
        {!snap ? (
          <p class="muted">Waiting for the first snapshot…</p>
        ) : (
          <dl class="tiles">
            {snap.statuses.map((s) => (
              <div class={`tile tile-${s.status.toLowerCase().replace(/_/g, "-")}${s.count > 0 ? " nonzero" : ""}`} key={s.status}>
                <dt>
                  {s.status.split("_").map((w, i) => (
                    <Fragment key={i}>
                      {i > 0 && "_"}
                      {i > 0 && <wbr />}
                      {w}
                    </Fragment>
                  ))}
                </dt>
                <dd data-testid={`count-${s.status}`}>{num(s.count)}</dd>
              </div>
            ))}
            <div class={snap.deadLetters > 0 ? "tile tile-alert" : "tile"}>
              <dt>
                <a href={href("dead-letters")}>Dead letters</a>
              </dt>
              <dd data-testid="count-dead-letters">{num(snap.deadLetters)}</dd>
            </div>
          </dl>
        )}
      </section>

      <div class="charts">
        <Chart
          title="Orders per second"
          summary={charts.rateSummary}
          unit="orders/s"
          lines={[
            { label: "created", stroke: "#2457c5" },
            { label: "completed", stroke: "#16823d", dash: [6, 3] },
            { label: "failed", stroke: "#c2261d", dash: [2, 3] },
          ]}
          data={charts.rate}
        />
        <Chart
          title="Create → completed latency"
          summary={charts.latencySummary}
          unit="ms"
          lines={[
            { label: "p50", stroke: "#6b3fb8", points: true },
            { label: "p99", stroke: "#b8631b", dash: [6, 3], points: true },
          ]}
          data={charts.latency}
        />
      </div>

      <div class="columns">
        <section aria-labelledby="failures-title">
          <h2 id="failures-title">Failures since start</h2>
          {snap && snap.failures.length === 0 ? (
            <p class="muted">No order has failed.</p>
          ) : (
            <TableScroll label="Failures by stage and code">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Stage</th>
                    <th scope="col">Code</th>
                    <th scope="col" class="num">
                      Orders
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {(snap?.failures ?? []).map((f) => (
                    <tr key={`${f.stage}/${f.code}`}>
                      <td>
                        <StatusBadge status={f.stage} />
                      </td>
                      <th scope="row">{f.code}</th>
                      <td class="num">{num(f.count)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          )}
        </section>

        <section aria-labelledby="feed-title">
          <h2 id="feed-title">Latest events</h2>
          {feed.length === 0 ? (
            <p class="muted">Events appear here as the server publishes them.</p>
          ) : (
            <ol class="feed" aria-labelledby="feed-title">
              {feed.map((e) => (
                <li key={e.id + e.time}>
                  <time dateTime={e.time}>{clock(e.time)}</time> <strong>{e.detailType}</strong>{" "}
                  <span class="muted">{e.source}</span>{" "}
                  <a href={href("orders", e.orderId)} aria-label={`Order ${e.reference || e.orderId}: ${e.detailType}`}>
                    {e.reference || shortId(e.orderId)}
                  </a>
                </li>
              ))}
            </ol>
          )}
        </section>
      </div>
    </Page>
  );
}
