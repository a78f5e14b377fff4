// The incident page's field panels: nearest available units (one-click dispatch), the escalation of an
// unanswered dispatch with the next unit suggested, messages with the units, and a small map on which a
// click sets the incident's location.
import { useMemo, useState } from "preact/hooks";
import { get, patch, post } from "../api";
import { loadUiConfig, useCameras } from "../data";
import { useAsync, useNow } from "../hooks";
import { useLive } from "../live";
import { useSession } from "../session";
import type { Incident, Unit } from "../types";
import { MapView, type MapMarker } from "./MapView";
import { MessageList } from "./Messages";
import { act, Badge, Empty } from "./ui";
import { humanize } from "../format";

interface Nearest {
  unit: Unit;
  distance_m: number | null;
  stale: boolean;
}
interface NearestUnits {
  lat: number | null;
  lon: number | null;
  units: Nearest[];
}
interface Escalation {
  dispatch_id: number;
  incident_id: number;
  call_sign: string;
  message: string;
  suggested: { unit_id: number; call_sign: string; distance_m: number | null } | null;
}

export function distanceText(m: number | null): string {
  if (m === null || m === undefined) return "no position";
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`;
}

async function dispatchUnit(inc: Incident, unitId: number | string, name: string, onChange: () => void): Promise<void> {
  if (await act("Dispatch", () => post(`/api/incidents/${inc.id}/dispatch`, { unit_id: Number(unitId) }), `Dispatched ${name}`)) onChange();
}

export function NearestUnitsPanel({ inc, onChange }: { inc: Incident; onChange: () => void }) {
  const { can } = useSession();
  const near = useAsync(() => get<NearestUnits>(`/api/incidents/${inc.id}/nearest-units`), [inc.id, inc.lat, inc.lon, inc.status]);
  const [escalation, setEscalation] = useState<Escalation | null>(null);
  useLive(["unit_update", "dispatch", "dispatch_update"], () => void near.reload());
  useLive(["dispatch_escalation"], (msg) => {
    const e = msg.data as unknown as Escalation;
    if (Number(e.incident_id) === Number(inc.id)) setEscalation(e);
  });
  if (!can("dispatch:create") || inc.status === "closed" || inc.status === "resolved") return null;
  const units = near.data?.units ?? [];
  return (
    <section class="panel" data-testid="nearest-units">
      <header class="panel-head">
        <h2>Nearest available units</h2>
        <span class="muted small">straight-line distance</span>
      </header>
      <div class="panel-body">
        {escalation && (
          <div class="escalation" role="alert" data-testid="dispatch-escalation">
            <b>Not acknowledged:</b> {escalation.message}
            {escalation.suggested && (
              <button type="button" class="btn btn-sm btn-primary" onClick={() => void dispatchUnit(inc, escalation.suggested!.unit_id, escalation.suggested!.call_sign, () => { setEscalation(null); onChange(); })}>
                Dispatch {escalation.suggested.call_sign}
              </button>
            )}
          </div>
        )}
        {near.data && near.data.lat === null && <p class="muted small">This incident has no location: click the map to set it.</p>}
        {units.length === 0 ? (
          <Empty>{near.loading ? "Loading units…" : "No unit is available."}</Empty>
        ) : (
          <table class="grid compact">
            <tbody>
              {units.map((n, i) => (
                <tr key={String(n.unit.id)} data-unit-id={String(n.unit.id)} class={i === 0 ? "nearest" : ""}>
                  <td>
                    <b>{n.unit.call_sign}</b> <span class="muted small">{humanize(n.unit.kind ?? "")}</span>
                  </td>
                  <td class="mono" data-testid="distance">
                    {distanceText(n.distance_m)}
                  </td>
                  <td>{n.stale ? <Badge kind="stale">stale</Badge> : <Badge kind="available">available</Badge>}</td>
                  <td class="row-actions">
                    <button type="button" class={`btn btn-sm ${i === 0 ? "btn-primary" : ""}`} onClick={() => void dispatchUnit(inc, n.unit.id, n.unit.call_sign, onChange)}>
                      Dispatch
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}

export function IncidentMessages({ inc }: { inc: Incident }) {
  const { can } = useSession();
  return (
    <section class="panel">
      <header class="panel-head">
        <h2>Messages with units</h2>
      </header>
      <div class="panel-body">
        <MessageList
          incidentId={Number(inc.id)}
          listUrl={`/api/incidents/${inc.id}/messages`}
          photoUrl={(id) => `/api/incidents/${inc.id}/messages/${id}/photo`}
          send={async (text, photo) => {
            if (!can("incidents:write")) return false;
            const form = new FormData();
            form.set("text", text);
            if (photo) form.set("photo", photo);
            return act("Send", () => post(`/api/incidents/${inc.id}/messages`, form));
          }}
        />
      </div>
    </section>
  );
}

/** Field units with a position, as map markers, kept live (unit_update) and re-aged every 15 s. */
export function useUnitMarkers(): MapMarker[] {
  const { can } = useSession();
  const units = useAsync(() => (can("units:read") ? get<Unit[]>("/api/units") : Promise.resolve([] as Unit[])), []);
  useLive(["unit_update"], (msg) => {
    const u = msg.data as unknown as Unit;
    units.set((cur) => (cur?.some((x) => x.id === u.id) ? cur.map((x) => (x.id === u.id ? u : x)) : [...(cur ?? []), u]));
  });
  const now = useNow(15000);
  return useMemo(
    () =>
      (units.data ?? [])
        .filter((u) => u.lat !== null && u.lat !== undefined && u.lon !== null && u.lon !== undefined && u.status !== "off_duty")
        .map((u) => ({ id: `unit-${u.id}`, lat: u.lat!, lon: u.lon!, label: `${u.call_sign} · ${humanize(u.status ?? "")}`, kind: "unit" as const, status: u.status ?? "", positionAt: String(u.position_at ?? ""), now })),
    [units.data, now],
  );
}

export function IncidentMap({ inc, onChange, extra }: { inc: Incident; onChange: () => void; extra?: MapMarker[] }) {
  const { can } = useSession();
  const cams = useCameras();
  const ui = useAsync(() => loadUiConfig(), []);
  const units = useUnitMarkers();
  const markers = useMemo(() => [...units, ...(extra ?? [])], [units, extra]);
  const center = inc.lat !== null && inc.lat !== undefined && inc.lon !== null && inc.lon !== undefined ? ([inc.lat, inc.lon] as [number, number]) : null;
  if (ui.data === undefined) return null;
  return (
    <section class="panel">
      <header class="panel-head">
        <h2>Location</h2>
        {can("incidents:write") && <span class="muted small">click the map to set it</span>}
      </header>
      <MapView
        class="incident-map"
        cameras={cams.data}
        incidents={[inc]}
        markers={markers}
        tileUrl={ui.data.tile_url}
        tileAttribution={ui.data.tile_attribution}
        staleAfterS={ui.data.stale_after_s}
        maxZoom={ui.data.max_zoom}
        center={center}
        zoom={center ? 16 : null}
        onMapClick={
          can("incidents:write") && inc.status !== "closed"
            ? (lat, lon) => void act("Set location", () => patch(`/api/incidents/${inc.id}`, { lat: Number(lat.toFixed(6)), lon: Number(lon.toFixed(6)) }), "Location set").then((okd) => okd && onChange())
            : undefined
        }
      />
    </section>
  );
}
