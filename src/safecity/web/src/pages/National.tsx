// The national view (federation mode): a map of the cities with camera health, open alerts and
// incidents, each city's key figures and a link to its own UI (no shared sessions), national analytics,
// handoffs and media requests. Aggregates and redacted summaries only (federation:read).
import { get } from "../api";
import { MapView, type MapMarker } from "../components/MapView";
import { Badge, Empty, StateView } from "../components/ui";
import { fmtDateTime } from "../format";
import { useAsync, useInterval } from "../hooks";
import "./national.css";

interface SiteOverview {
  site: string;
  name: string;
  level: string;
  parent: string | null;
  lat: number | null;
  lon: number | null;
  ui_url: string | null;
  last_seen: string;
  cameras: number;
  cameras_ok: number;
  open_alerts: number;
  open_incidents: number;
  events_last_hour: number;
  handoffs_open: number;
}

interface Figure {
  site: string;
  key: string;
  value: number;
}

interface NationalAnalytics {
  since: string;
  footfall_by_site_zone: Figure[];
  line_counts: Figure[];
  crowding_peak: Figure[];
  incidents_by_type: Figure[];
  response_time_s: Figure[];
}

interface FedAlert {
  site: string;
  alert_id: number;
  severity: string;
  title: string;
  camera_id: string | null;
  zone_id: string | null;
  last_seen: string;
}

interface Handoff {
  handoff_id: string;
  from_site: string;
  to_site: string;
  state: string;
  title: string;
  requested_at: string;
}

interface National {
  sites: SiteOverview[];
  stats: NationalAnalytics;
  alerts: FedAlert[];
  handoffs: Handoff[];
}

async function load(): Promise<National> {
  const [sites, stats, alerts, handoffs] = await Promise.all([
    get<SiteOverview[]>("/api/federation/sites"),
    get<NationalAnalytics>("/api/federation/analytics", { hours: 24 }),
    get<FedAlert[]>("/api/federation/alerts", { limit: 50 }),
    get<Handoff[]>("/api/federation/handoffs"),
  ]);
  return { sites, stats, alerts, handoffs };
}

function markers(sites: SiteOverview[]): MapMarker[] {
  return sites
    .filter((s) => s.lat !== null && s.lon !== null)
    .map((s) => ({
      id: s.site,
      lat: s.lat as number,
      lon: s.lon as number,
      kind: "pin",
      label: `${s.name}: cameras ${s.cameras_ok}/${s.cameras} ok, ${s.open_alerts} open alerts, ${s.open_incidents} open incidents`,
    }));
}

function FigureTable({ title, rows, unit }: { title: string; rows: Figure[]; unit?: string }) {
  return (
    <section class="card" data-testid={`national-${title.toLowerCase().replace(/\W+/g, "-")}`}>
      <h2>{title}</h2>
      {rows.length === 0 ? (
        <Empty>No figures yet.</Empty>
      ) : (
        <table class="table">
          <tbody>
            {rows.map((f) => (
              <tr key={`${f.site}/${f.key}`}>
                <td>{f.site}</td>
                <td>{f.key}</td>
                <td class="num">
                  {Math.round(f.value * 10) / 10}
                  {unit ?? ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function NationalPage() {
  const data = useAsync(load, []);
  useInterval(() => void data.reload(), 10000);
  return (
    <div class="national-page">
      <header class="page-head">
        <h1>National view</h1>
        <span class="muted">summaries from every city · refreshes every 10 s</span>
      </header>
      <StateView async={data} what="Loading the national view">
        {(d) => (
          <>
            <MapView markers={markers(d.sites)} class="national-map" />
            <section class="card">
              <h2>Cities</h2>
              {d.sites.length === 0 ? (
                <Empty>No city has reported yet.</Empty>
              ) : (
                <table class="table" data-testid="national-sites">
                  <thead>
                    <tr>
                      <th>City</th>
                      <th>Cameras ok</th>
                      <th>Open alerts</th>
                      <th>Open incidents</th>
                      <th>Events (1 h)</th>
                      <th>Handoffs waiting</th>
                      <th>Last report</th>
                      <th>Own UI</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.sites.map((s) => (
                      <tr key={s.site} data-site={s.site}>
                        <td>
                          <b>{s.name}</b> <span class="muted">{s.level}</span>
                        </td>
                        <td>
                          <Badge kind={s.cameras_ok === s.cameras ? "ok" : "dark"}>
                            {s.cameras_ok}/{s.cameras}
                          </Badge>
                        </td>
                        <td class="num">{s.open_alerts}</td>
                        <td class="num">{s.open_incidents}</td>
                        <td class="num">{s.events_last_hour}</td>
                        <td class="num">{s.handoffs_open}</td>
                        <td>{fmtDateTime(s.last_seen)}</td>
                        <td>
                          {s.ui_url ? (
                            <a href={s.ui_url} target="_blank" rel="noopener noreferrer">
                              open {s.name}
                            </a>
                          ) : (
                            "-"
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
            <section class="card">
              <h2>Open alerts</h2>
              {d.alerts.length === 0 ? (
                <Empty>No open alert.</Empty>
              ) : (
                <ul class="plain" data-testid="national-alerts">
                  {d.alerts.map((a) => (
                    <li key={`${a.site}/${a.alert_id}`}>
                      <Badge kind={a.severity}>{a.severity}</Badge> <b>{a.site}</b> {a.title}{" "}
                      <span class="muted">
                        {a.camera_id ?? ""} {a.zone_id ?? ""} · {fmtDateTime(a.last_seen)}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </section>
            <div class="national-figures">
              <FigureTable title="Footfall by city and zone" rows={d.stats.footfall_by_site_zone} />
              <FigureTable title="Incidents by type and city" rows={d.stats.incidents_by_type} />
              <FigureTable title="Dispatch response times" rows={d.stats.response_time_s} unit=" s" />
              <FigureTable title="Crowding peaks" rows={d.stats.crowding_peak} />
            </div>
            <section class="card">
              <h2>Handoffs between cities</h2>
              {d.handoffs.length === 0 ? (
                <Empty>No handoff.</Empty>
              ) : (
                <ul class="plain">
                  {d.handoffs.map((h) => (
                    <li key={h.handoff_id}>
                      {h.from_site} → {h.to_site}: {h.title} <Badge kind={h.state}>{h.state}</Badge>{" "}
                      <span class="muted">{fmtDateTime(h.requested_at)}</span>
                    </li>
                  ))}
                </ul>
              )}
            </section>
          </>
        )}
      </StateView>
    </div>
  );
}
