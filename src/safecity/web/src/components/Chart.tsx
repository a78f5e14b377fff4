// Charts on uPlot (npm `uplot`): time series and bar charts that follow the panel's width.
// Suppressed values (null: fewer than min_count) are gaps, never zeros.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { activeZone, zoneLabel } from "../format";

export const PALETTE = ["#3fa7ff", "#35c76f", "#f0b429", "#ff7a45", "#b37feb", "#36cfc9", "#ff85c0", "#8396aa"];

export interface ChartSeries {
  label: string;
  values: (number | null)[];
}

export interface ChartProps {
  /** x values: epoch seconds (time axis) or plain numbers (e.g. hours of the day) */
  xs: number[];
  series: ChartSeries[];
  time?: boolean;
  bars?: boolean;
  height?: number;
  title?: string;
  xLabel?: (v: number) => string;
}

function options(p: ChartProps, width: number): uPlot.Options {
  const bars = p.bars ? uPlot.paths.bars!({ size: [0.8, 40] }) : undefined;
  return {
    width,
    height: p.height ?? 200,
    title: p.title,
    // one bucket (or all at one x) would make uPlot spread the axis over years: pad it by an hour / one unit
    scales: { x: { time: p.time ?? true, range: (_u: uPlot, min: number, max: number) => (min === max ? [min - ((p.time ?? true) ? 3600 : 1), max + ((p.time ?? true) ? 3600 : 1)] : [min, max]) } },
    // time axes in the displayed zone (the site's, or the user's own), as every other time on screen
    tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1e3), activeZone()),
    legend: { show: p.series.length > 1 },
    cursor: { drag: { x: false, y: false } },
    axes: [
      {
        stroke: "#8396aa",
        grid: { stroke: "#1b2938" },
        ...((p.time ?? true) && !p.xLabel ? { label: zoneLabel(), labelSize: 14 } : {}),
        ...(p.xLabel ? { values: (_u: uPlot, vals: number[]) => vals.map((v) => p.xLabel!(v)) } : {}),
      },
      { stroke: "#8396aa", grid: { stroke: "#1b2938" } },
    ],
    series: [
      {},
      ...p.series.map((s, i) => ({
        label: s.label,
        stroke: PALETTE[i % PALETTE.length],
        fill: p.bars ? PALETTE[i % PALETTE.length] + "99" : undefined,
        width: p.bars ? 0 : 1.5,
        paths: bars,
        spanGaps: false,
        points: { show: !p.bars && p.xs.length < 60 },
      })),
    ],
  };
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const data = [props.xs, ...props.series.map((s) => s.values)] as uPlot.AlignedData;
    plot.current = new uPlot(options(props, el.clientWidth || 600), data, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: props.height ?? 200 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [props.xs, props.series, props.bars, props.time, props.height]);
  return <div class="chart" ref={box} data-chart={props.title ?? ""} />;
}

/** Align series of points (`at` ISO times) on one sorted time axis; missing buckets are gaps. */
export function alignSeries(series: { label: string; points: { at: string; value: number | null }[] }[]): {
  xs: number[];
  series: ChartSeries[];
} {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => Date.parse(p.at) / 1000)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  return {
    xs: times,
    series: series.map((s) => {
      const values: (number | null)[] = times.map(() => null);
      for (const p of s.points) values[index.get(Date.parse(p.at) / 1000)!] = p.value;
      return { label: s.label, values };
    }),
  };
}
