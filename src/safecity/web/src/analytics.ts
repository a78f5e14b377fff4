// Urban analytics: shapes of /api/analytics answers and the helpers the analytics screen uses.
// Every count may be null: fewer than `min_count` (suppressed for privacy), shown as "<k".
import { get, qs, type Query } from "./api";

export type Count = number | null;
export type Metric = "footfall" | "crossings" | "presence" | "crowding" | "vehicles";
export type Bucket = "hour" | "day";

export const METRICS: { id: Metric; label: string; hint: string }[] = [
  { id: "footfall", label: "Footfall", hint: "people entering zones" },
  { id: "crossings", label: "Line counts", hint: "crossings per class and direction" },
  { id: "presence", label: "People present", hint: "people in view, summed over samples" },
  { id: "crowding", label: "Crowding", hint: "crowding episodes per zone" },
  { id: "vehicles", label: "Vehicles", hint: "vehicle line crossings per class and direction" },
];

/** The detector's vehicle classes, in the order the API returns them; a coach is a bus, a taxi a car. */
export const VEHICLE_NAMES: Record<string, string> = {
  car: "Cars and taxis",
  bus: "Buses and coaches",
  truck: "Trucks",
  motorcycle: "Motorcycles",
  bicycle: "Bicycles",
};

export interface VehicleClass {
  label: string;
  crossings: Count;
  by_direction: { direction: string; count: Count }[];
  by_hour: Count[];
  arrivals: Count;
  present: Count;
}

export interface VehicleCounts {
  since: string;
  until: string;
  timezone: string;
  min_count: number;
  crossings: Count;
  classes: VehicleClass[];
}

export interface Key {
  camera_id: string;
  zone_id?: string | null;
  line_id?: string | null;
  label?: string | null;
  direction?: string | null;
}

export interface SeriesResult {
  metric: Metric;
  bucket: Bucket;
  since: string;
  until: string;
  timezone: string;
  min_count: number;
  total: Count;
  series: { key: Key; total: Count; points: { at: string; value: Count }[] }[];
}

export interface Heatmap {
  camera_id: string;
  cols: number;
  rows: number;
  samples: number;
  samples_withheld: number;
  cells: Count[];
  max: Count;
  min_count: number;
}

export interface PeakHours {
  min_count: number;
  days: number;
  hours: { hour: number; total: Count; per_day: number | null }[];
  peaks: number[];
  weekday_hour: Count[][];
}

export interface Change {
  key: Key | null;
  current: Count;
  previous: Count;
  delta: number | null;
  ratio: number | null;
}

export interface Comparison {
  min_count: number;
  previous_since: string;
  previous_until: string;
  total: Change;
  changes: Change[];
}

export interface DwellResult {
  min_count: number;
  zones: {
    camera_id: string;
    zone_id: string;
    visits: Count;
    p50_s: number | null;
    p90_s: number | null;
    loitering: Count;
    bins: { lo_s: number; hi_s: number | null; count: Count }[];
  }[];
}

export interface SiteInfo {
  id: string;
  name: string;
  cameras: string[];
}

export interface Stat {
  n: Count;
  p50_s: number | null;
  p90_s: number | null;
}

export interface SiteDashboard {
  site: SiteInfo;
  min_count: number;
  footfall: SeriesResult;
  presence: SeriesResult;
  crowding: { episodes: Count; anomalies: Count; by_hour: Count[] };
  vehicles: VehicleCounts;
  incidents: { total: Count; by_type: { type: string; count: Count; by_hour: Count[] }[] };
  response: { report_to_dispatch: Stat; dispatch_to_scene: Stat; report_to_scene: Stat };
}

export interface Period {
  since: string;
  until: string;
}

export interface Filter extends Period {
  metric: Metric;
  bucket: Bucket;
  camera_id?: string;
}

const base = "/api/analytics";
const enc = encodeURIComponent;

export const api = {
  sites: () => get<SiteInfo[]>(`${base}/sites`),
  series: (f: Filter) => get<SeriesResult>(`${base}/series`, f as unknown as Query),
  peaks: (f: Filter) => get<PeakHours>(`${base}/peak-hours`, f as unknown as Query),
  compare: (f: Filter) => get<Comparison>(`${base}/compare`, f as unknown as Query),
  vehicles: (p: Period & { camera_id?: string }) => get<VehicleCounts>(`${base}/vehicles`, p as unknown as Query),
  dwell: (p: Period & { camera_id?: string }) => get<DwellResult>(`${base}/dwell`, p as unknown as Query),
  heatmap: (camera: string, p: Period) => get<Heatmap>(`${base}/heatmap/${enc(camera)}`, p as unknown as Query),
  dashboard: (site: string, p: Period) => get<SiteDashboard>(`${base}/sites/${enc(site)}/dashboard`, p as unknown as Query),
};

export function exportUrl(f: Filter, format: "csv" | "parquet"): string {
  return `${base}/export${qs({ ...f, format } as unknown as Query)}`;
}

export function reportUrl(day: string, format: "html" | "pdf"): string {
  return `${base}/reports/${enc(day)}${qs({ format })}`;
}

/** "12", or "<5" for a suppressed count. */
export function fmtCount(v: Count, k: number): string {
  return v === null ? `<${k}` : v.toLocaleString();
}

export function fmtSeconds(s: number | null): string {
  if (s === null) return "–";
  return s >= 120 ? `${(s / 60).toFixed(1)} min` : `${Math.round(s)} s`;
}

export function keyLabel(k: Key | null): string {
  if (!k) return "all";
  return [k.camera_id, k.zone_id, k.line_id, k.label, k.direction].filter(Boolean).join(" · ");
}

/** Presets of the date-range picker: the last N hours ending at the next whole hour. */
export function lastHours(hours: number, now = new Date()): Period {
  const end = new Date(now);
  end.setMinutes(0, 0, 0);
  end.setHours(end.getHours() + 1);
  return { since: new Date(end.getTime() - hours * 3600_000).toISOString(), until: end.toISOString() };
}
