// Urban analytics: trends, peak hours, period-over-period, occupancy heatmaps, dwell times, vehicles and the Safe
// Tourism dashboard per site, for a date range kept in the URL; CSV/Parquet export and the daily report.
import { useState } from "preact/hooks";
import { api, type Bucket, exportUrl, type Filter, lastHours, type Metric, METRICS, reportUrl } from "../analytics";
import "../analytics.css";
import { ComparePanel, DwellPanel, HeatmapPanel, PeakPanel, SitePanel, TrendPanel, VehiclePanel } from "../components/AnalyticsPanels";
import { Field } from "../components/ui";
import { useCameras } from "../data";
import { fromLocalInput, toLocalInput, todayInput, zoneLabel } from "../format";
import { useAsync } from "../hooks";
import { setQuery, useLocation } from "../router";
import { useSession } from "../session";

const PRESETS: [string, number][] = [
  ["24 h", 24],
  ["7 days", 24 * 7],
  ["28 days", 24 * 28],
];

function filterFrom(query: URLSearchParams): Filter {
  const fallback = lastHours(24);
  return {
    since: query.get("since") || fallback.since,
    until: query.get("until") || fallback.until,
    metric: (query.get("metric") as Metric) || "footfall",
    bucket: (query.get("bucket") as Bucket) || "hour",
  };
}

function Toolbar({ f }: { f: Filter }) {
  const [draft, setDraft] = useState(f);
  const apply = (next: Filter) => setQuery({ ...next });
  return (
    <form class="filters" aria-label="Period" onSubmit={(e) => (e.preventDefault(), apply(draft))}>
      <div class="presets">
        {PRESETS.map(([label, hours]) => (
          <button key={label} type="button" class="btn btn-sm" onClick={() => apply({ ...draft, ...lastHours(hours) })}>
            {label}
          </button>
        ))}
      </div>
      <Field label={`From (${zoneLabel(draft.since || Date.now())})`}>
        <input type="datetime-local" name="since" value={toLocalInput(draft.since)} onInput={(e) => setDraft({ ...draft, since: fromLocalInput(e.currentTarget.value) ?? draft.since })} />
      </Field>
      <Field label={`To (${zoneLabel(draft.until || Date.now())})`}>
        <input type="datetime-local" name="until" value={toLocalInput(draft.until)} onInput={(e) => setDraft({ ...draft, until: fromLocalInput(e.currentTarget.value) ?? draft.until })} />
      </Field>
      <Field label="Measure">
        <select name="metric" value={draft.metric} onChange={(e) => setDraft({ ...draft, metric: e.currentTarget.value as Metric })}>
          {METRICS.map((m) => (
            <option key={m.id} value={m.id} title={m.hint}>{m.label}</option>
          ))}
        </select>
      </Field>
      <Field label="Per">
        <select name="bucket" value={draft.bucket} onChange={(e) => setDraft({ ...draft, bucket: e.currentTarget.value as Bucket })}>
          <option value="hour">hour</option>
          <option value="day">day</option>
        </select>
      </Field>
      <div class="filter-actions">
        <button type="submit" class="btn btn-primary">Show</button>
      </div>
    </form>
  );
}

function Downloads({ f }: { f: Filter }) {
  const [day, setDay] = useState(todayInput(-1));
  return (
    <div class="toolbar" aria-label="Downloads">
      <a class="btn btn-sm" href={exportUrl(f, "csv")} download>CSV</a>
      <a class="btn btn-sm" href={exportUrl(f, "parquet")} download>Parquet</a>
      <span class="toolbar-hint">Daily report</span>
      <input type="date" aria-label="Report day" value={day} onInput={(e) => setDay(e.currentTarget.value)} />
      <a class="btn btn-sm" href={reportUrl(day, "html")} target="_blank" rel="noopener">HTML</a>
      <a class="btn btn-sm" href={reportUrl(day, "pdf")} download>PDF</a>
    </div>
  );
}

export function AnalyticsPage() {
  const loc = useLocation();
  const { can } = useSession();
  const f = filterFrom(loc.query);
  const period = { since: f.since, until: f.until };
  const cams = useCameras();
  const sites = useAsync(() => api.sites(), []);
  return (
    <div class="analytics-page">
      <header class="page-head">
        <h1>Urban analytics</h1>
        <span class="muted">Aggregates only: counts below the privacy threshold show as “&lt;k”.</span>
        <span class="spacer" />
        {can("analytics:export") && <Downloads f={f} />}
      </header>
      <Toolbar key={loc.query.toString()} f={f} />
      <div class="analytics-grid">
        <TrendPanel f={f} />
        <PeakPanel f={f} />
        <ComparePanel f={f} />
        {(cams.data ?? []).length > 0 && <HeatmapPanel p={period} cameras={cams.data ?? []} />}
        <DwellPanel p={period} />
        <VehiclePanel p={period} />
        {(sites.data ?? []).length > 0 && <SitePanel p={period} sites={sites.data ?? []} />}
      </div>
    </div>
  );
}
