// The panels of the analytics screen. Each loads its own aggregate and shows "<k" for suppressed counts.
import type { ComponentChildren } from "preact";
import { useMemo, useState } from "preact/hooks";
import {
  api,
  type Count,
  fmtCount,
  fmtSeconds,
  type Filter,
  keyLabel,
  type Period,
  type SiteDashboard,
  type SiteInfo,
  VEHICLE_NAMES,
  type VehicleCounts,
} from "../analytics";
import { activeZone } from "../format";
import { useAsync } from "../hooks";
import type { Camera } from "../types";
import { alignSeries, Chart } from "./Chart";
import { HeatmapOverlay } from "./HeatmapOverlay";
import { StateView } from "./ui";

const MAX_LINES = 8;
const HOURS = Array.from({ length: 24 }, (_, h) => h);
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

export function Panel({ title, children, extra }: { title: string; children: ComponentChildren; extra?: ComponentChildren }) {
  return (
    <section class="panel" aria-label={title}>
      <div class="panel-head">
        <h2>{title}</h2>
        {extra}
      </div>
      <div class="panel-body">{children}</div>
    </section>
  );
}

function N({ v, k }: { v: Count; k: number }) {
  return <span class={v === null ? "suppressed" : ""}>{fmtCount(v, k)}</span>;
}

export function TrendPanel({ f }: { f: Filter }) {
  const a = useAsync(() => api.series(f), [JSON.stringify(f)]);
  return (
    <Panel title="Trend" extra={a.data && <span class="muted">total <N v={a.data.total} k={a.data.min_count} /></span>}>
      <StateView async={a} what="Counting" isEmpty={(d) => d.series.length === 0} empty="No events in this period.">
        {(d) => {
          const top = [...d.series].sort((x, y) => (y.total ?? 0) - (x.total ?? 0)).slice(0, MAX_LINES);
          const data = alignSeries(top.map((s) => ({ label: keyLabel(s.key), points: s.points })));
          // buckets are whole hours/days of analytics.timezone; the axis shows the displayed zone
          const title = d.timezone === activeZone() ? `per ${d.bucket} (${d.timezone})` : `per ${d.bucket} of ${d.timezone}, axis in ${activeZone()}`;
          return <Chart xs={data.xs} series={data.series} title={title} />;
        }}
      </StateView>
    </Panel>
  );
}

export function PeakPanel({ f }: { f: Filter }) {
  const a = useAsync(() => api.peaks(f), [JSON.stringify(f)]);
  return (
    <Panel title="Peak hours">
      <StateView async={a} what="Counting">
        {(d) => (
          <>
            <p class="muted">
              Busiest: {d.peaks.map((h) => `${String(h).padStart(2, "0")}:00`).join(", ") || "–"} · over {d.days} day(s)
            </p>
            <Chart xs={HOURS} time={false} bars series={[{ label: "per day", values: d.hours.map((h) => h.per_day) }]} height={150} />
            <table class="matrix" aria-label="weekday by hour">
              <tbody>
                {d.weekday_hour.map((row, i) => (
                  <tr key={i}>
                    <th class="small muted">{DAYS[i]}</th>
                    {row.map((v, h) => (
                      <td key={h} title={`${DAYS[i]} ${h}:00 ${fmtCount(v, d.min_count)}`} style={cellStyle(v, row)} />
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </StateView>
    </Panel>
  );
}

function cellStyle(v: Count, row: Count[]): string {
  const top = Math.max(1, ...row.map((x) => x ?? 0));
  return v === null ? "background:#111a24" : `background:rgba(63,167,255,${0.15 + (0.85 * v) / top})`;
}

export function ComparePanel({ f }: { f: Filter }) {
  const a = useAsync(() => api.compare(f), [JSON.stringify(f)]);
  return (
    <Panel title="Against the previous period">
      <StateView async={a} what="Comparing">
        {(d) => (
          <table class="grid compact">
            <thead>
              <tr><th>What</th><th>This period</th><th>Before</th><th>Change</th></tr>
            </thead>
            <tbody>
              {[d.total, ...d.changes].map((c, i) => (
                <tr key={i}>
                  <td>{i === 0 ? <b>Total</b> : keyLabel(c.key)}</td>
                  <td><N v={c.current} k={d.min_count} /></td>
                  <td><N v={c.previous} k={d.min_count} /></td>
                  <td>{c.delta === null ? "–" : `${c.delta > 0 ? "+" : ""}${c.delta}${c.ratio ? ` (×${c.ratio.toFixed(2)})` : ""}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </StateView>
    </Panel>
  );
}

export function HeatmapPanel({ p, cameras }: { p: Period; cameras: Camera[] }) {
  const [cam, setCam] = useState(cameras[0]?.id ?? "");
  const a = useAsync(() => (cam ? api.heatmap(cam, p) : Promise.reject(new Error("no camera"))), [cam, p.since, p.until]);
  const pick = (
    <select aria-label="Heatmap camera" value={cam} onChange={(e) => setCam(e.currentTarget.value)}>
      {cameras.map((c) => (
        <option key={c.id} value={c.id}>{c.name || c.id}</option>
      ))}
    </select>
  );
  return (
    <Panel title="Occupancy heatmap" extra={pick}>
      <StateView async={a} what="Drawing">
        {(d) => <HeatmapOverlay key={cam} map={d} cameraId={cam} />}
      </StateView>
    </Panel>
  );
}

export function DwellPanel({ p }: { p: Period }) {
  const a = useAsync(() => api.dwell(p), [p.since, p.until]);
  return (
    <Panel title="Dwell time">
      <StateView async={a} what="Measuring" isEmpty={(d) => d.zones.length === 0} empty="No zone visits (zones need enter/exit events).">
        {(d) => (
          <table class="grid compact">
            <thead>
              <tr><th>Zone</th><th>Visits</th><th>Median</th><th>90%</th><th>Loitering</th><th>Distribution</th></tr>
            </thead>
            <tbody>
              {d.zones.map((z) => (
                <tr key={`${z.camera_id}/${z.zone_id}`}>
                  <td>{z.camera_id} · {z.zone_id}</td>
                  <td><N v={z.visits} k={d.min_count} /></td>
                  <td>{fmtSeconds(z.p50_s)}</td>
                  <td>{fmtSeconds(z.p90_s)}</td>
                  <td><N v={z.loitering} k={d.min_count} /></td>
                  <td class="small">{z.bins.filter((b) => b.count !== null).map((b) => `${fmtSeconds(b.lo_s)}+: ${b.count}`).join(" · ") || "–"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </StateView>
    </Panel>
  );
}

function VehicleTable({ d }: { d: VehicleCounts }) {
  const k = d.min_count;
  const directions = [...new Set(d.classes.flatMap((c) => c.by_direction.map((x) => x.direction)))].sort();
  return (
    <table class="grid compact" aria-label="vehicles per class">
      <thead>
        <tr>
          <th>Class</th>
          <th>Crossings</th>
          {directions.map((dir) => (
            <th key={dir}>{dir}</th>
          ))}
          <th title="entries into zones with enter/exit events (bays, drop-off areas)">Arrivals</th>
          <th title="vehicles in view, summed over occupancy samples">In view</th>
          <th>Busiest hours</th>
        </tr>
      </thead>
      <tbody>
        {d.classes.map((c) => (
          <tr key={c.label}>
            <td>{VEHICLE_NAMES[c.label] ?? c.label}</td>
            <td><N v={c.crossings} k={k} /></td>
            {directions.map((dir) => (
              <td key={dir}><N v={c.by_direction.find((x) => x.direction === dir)?.count ?? null} k={k} /></td>
            ))}
            <td><N v={c.arrivals} k={k} /></td>
            <td><N v={c.present} k={k} /></td>
            <td class="small">{busiest(c.by_hour)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function busiest(hours: Count[]): string {
  const ranked = hours.map((v, h) => [v ?? -1, h] as const).filter(([v]) => v > 0).sort((a, b) => b[0] - a[0]);
  return ranked.slice(0, 3).map(([v, h]) => `${String(h).padStart(2, "0")}:00 ${v}`).join(" · ") || "–";
}

export function VehiclePanel({ p }: { p: Period }) {
  const a = useAsync(() => api.vehicles(p), [p.since, p.until]);
  return (
    <Panel title="Vehicles" extra={a.data && <span class="muted">crossings <N v={a.data.crossings} k={a.data.min_count} /></span>}>
      <StateView async={a} what="Counting vehicles">
        {(d) => (
          <>
            <VehicleTable d={d} />
            <Chart
              xs={HOURS}
              time={false}
              bars
              series={d.classes.filter((c) => c.crossings !== null).map((c) => ({ label: VEHICLE_NAMES[c.label] ?? c.label, values: c.by_hour }))}
              height={150}
            />
            <p class="muted small">Crossings of counting lines per direction; taxis count as cars (no detector class tells them apart).</p>
          </>
        )}
      </StateView>
    </Panel>
  );
}

function Kpi({ label, v, k }: { label: string; v: Count; k: number }) {
  return (
    <div class="kpi">
      <b><N v={v} k={k} /></b> <span>{label}</span>
    </div>
  );
}

function SiteBody({ d }: { d: SiteDashboard }) {
  const k = d.min_count;
  const footfall = useMemo(() => alignSeries(d.footfall.series.map((s) => ({ label: keyLabel(s.key), points: s.points }))), [d]);
  const r = d.response;
  const coaches = d.vehicles.classes.find((c) => c.label === "bus");
  const cars = d.vehicles.classes.find((c) => c.label === "car");
  return (
    <>
      <div class="kpis">
        <Kpi label="footfall" v={d.footfall.total} k={k} />
        <Kpi label="people present" v={d.presence.total} k={k} />
        <Kpi label="crowding" v={d.crowding.episodes} k={k} />
        <Kpi label="unusual levels" v={d.crowding.anomalies} k={k} />
        <Kpi label="coaches" v={coaches?.crossings ?? null} k={k} />
        <Kpi label="coach arrivals" v={coaches?.arrivals ?? null} k={k} />
        <Kpi label="cars and taxis" v={cars?.crossings ?? null} k={k} />
        <Kpi label="incidents" v={d.incidents.total} k={k} />
      </div>
      <Chart xs={footfall.xs} series={footfall.series} title="Footfall per hour" height={160} />
      <h3>Vehicles</h3>
      <VehicleTable d={d.vehicles} />
      <h3>Incidents by type and hour</h3>
      <table class="grid compact">
        <thead><tr><th>Type</th><th>Total</th><th>Busiest hours</th></tr></thead>
        <tbody>
          {d.incidents.by_type.map((t) => (
            <tr key={t.type}>
              <td>{t.type}</td>
              <td><N v={t.count} k={k} /></td>
              <td class="small">{t.by_hour.map((v, h) => (v === null ? "" : `${h}:00 ${v}`)).filter(Boolean).join(" · ") || "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Response times</h3>
      <table class="grid compact">
        <thead><tr><th></th><th>Incidents</th><th>Median</th><th>90%</th></tr></thead>
        <tbody>
          {([["Report → dispatch", r.report_to_dispatch], ["Dispatch → on scene", r.dispatch_to_scene], ["Report → on scene", r.report_to_scene]] as const).map(([name, s]) => (
            <tr key={name}>
              <td>{name}</td>
              <td><N v={s.n} k={k} /></td>
              <td>{fmtSeconds(s.p50_s)}</td>
              <td>{fmtSeconds(s.p90_s)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function SitePanel({ p, sites }: { p: Period; sites: SiteInfo[] }) {
  const [site, setSite] = useState(sites[0]?.id ?? "");
  const a = useAsync(() => api.dashboard(site, p), [site, p.since, p.until]);
  const pick = (
    <select aria-label="Site" value={site} onChange={(e) => setSite(e.currentTarget.value)}>
      {sites.map((s) => (
        <option key={s.id} value={s.id}>{s.name}</option>
      ))}
    </select>
  );
  return (
    <Panel title="Safe Tourism" extra={pick}>
      <StateView async={a} what="Loading the site">
        {(d) => <SiteBody d={d} />}
      </StateView>
    </Panel>
  );
}
