// A time-series chart drawn by uPlot, sized to its container and redrawn in place when its data change.

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

export interface Line {
  label: string;
  /** Colour of the line. */
  stroke: string;
  /** Dash pattern, so that lines differ without colour too. */
  dash?: number[];
  fill?: string;
  /** Draw every value as a point too: for series with gaps, whose lone values would draw no line. */
  points?: boolean;
}

export interface ChartProps {
  /** What the chart shows, as its caption and accessible name. */
  title: string;
  /** A sentence with the figures, for whoever does not see the chart. */
  summary: string;
  lines: Line[];
  /** Unix seconds, then one array per line (null: no value that second). */
  data: [number[], ...(number | null)[][]];
  /** Unit of the y axis, e.g. "orders/s". */
  unit: string;
  height?: number;
}

export function Chart({ title, summary, lines, data, unit, height = 220 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const linesKey = lines.map((l) => l.label).join("|");

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [
        { stroke: "#4a5563", grid: { stroke: "#e3e7ee" }, ticks: { stroke: "#e3e7ee" } },
        { stroke: "#4a5563", grid: { stroke: "#e3e7ee" }, ticks: { stroke: "#e3e7ee" }, label: unit, size: 56 },
      ],
      series: [
        { label: "Time" },
        ...lines.map((l) => ({ label: l.label, stroke: l.stroke, width: 2, dash: l.dash, fill: l.fill, spanGaps: false, points: { show: !!l.points, size: 5 } })),
      ],
    };
    const u = new uPlot(opts, data as uPlot.AlignedData, el);
    plot.current = u;
    u.root.querySelector(".u-wrap")?.setAttribute("aria-hidden", "true");
    const ro = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (w !== u.width) u.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its lines change; new data go through setData below.
  }, [linesKey, unit, height]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return (
    <figure class="chart" aria-label={title}>
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart-box" />
      <p class="muted chart-summary">{summary}</p>
    </figure>
  );
}
