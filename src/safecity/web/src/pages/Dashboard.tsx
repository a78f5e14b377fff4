// Dashboard: the map with cameras and zones, the live alert feed and the camera wall.
import { useEffect, useMemo, useState } from "preact/hooks";
import { isOpen, useAlerts } from "../alerts";
import { AlertFeed } from "../components/AlertFeed";
import { MapView } from "../components/MapView";
import { useUnitMarkers } from "../components/IncidentField";
import { Badge, Empty, ErrorBox, LiveImage, Link, Loading } from "../components/ui";
import { forgetCameras, loadUiConfig, SEVERITIES, useCameras } from "../data";
import { get, items } from "../api";
import { num } from "../format";
import { type CamHealth, isBad, normaliseCamera, useCameraStatusLive } from "../health";
import { useAsync, useInterval } from "../hooks";
import { navigate } from "../router";
import { useSession } from "../session";
import type { Camera, Incident, UiConfig } from "../types";

/** Browsers keep at most 6 connections per host: only this many tiles stream, the rest refresh stills. */
const MAX_LIVE_TILES = 4;

function Snapshot({ id }: { id: string }) {
  const [t, setT] = useState(Date.now());
  useInterval(() => setT(Date.now()), 5000);
  return (
    <div class="live">
      <img src={`/api/cameras/${encodeURIComponent(id)}/snapshot.jpg?t=${t}`} alt={`${id} snapshot`} />
    </div>
  );
}

function CameraTile({ cam, health, live, hot }: { cam: Camera; health?: CamHealth; live: boolean; hot: boolean }) {
  const state = cam.enabled === false ? "disabled" : (health?.state ?? "unknown");
  return (
    <Link href={`/cameras/${encodeURIComponent(cam.id)}`} class={`tile ${hot ? "tile-hot" : ""} tile-${state}`} data-camera-id={cam.id}>
      <div class="tile-head">
        <span class="tile-name">{cam.name || cam.id}</span>
        <span class="tile-stat">
          {health?.fps !== null && health?.fps !== undefined && <span>{num(health.fps)} fps</span>}
          <Badge kind={state}>{state}</Badge>
        </span>
      </div>
      {cam.enabled === false ? (
        <div class="live live-off">Disabled</div>
      ) : live ? (
        <LiveImage src={`/api/cameras/${encodeURIComponent(cam.id)}/live.mjpeg`} alt={`${cam.name || cam.id} live`} />
      ) : (
        <Snapshot id={cam.id} />
      )}
    </Link>
  );
}

export function DashboardPage() {
  const { can, me } = useSession();
  const cams = useCameras();
  const alerts = useAlerts({ status: "active" });
  const liveStatus = useCameraStatusLive();
  // camera rows carry their health; refresh them now and then (status changes also arrive live)
  useInterval(() => {
    forgetCameras();
    void cams.reload();
  }, 10000);
  const health = useMemo(() => {
    const m: Record<string, CamHealth> = {};
    for (const c of cams.data ?? []) m[c.id] = normaliseCamera(c.id, { ...(c.health ?? {}), ...(liveStatus[c.id] ?? {}), enabled: c.enabled });
    return m;
  }, [cams.data, liveStatus]);
  const incidents = useAsync(
    () => (can("incidents:read") ? get<Incident[] | { items: Incident[] }>("/api/incidents").then(items) : Promise.resolve([])),
    [],
  );
  const [ui, setUi] = useState<UiConfig | null>(null);
  const [focus, setFocus] = useState<string | null>(null);
  useEffect(() => void loadUiConfig().then(setUi), []);

  const hot = useMemo(() => new Set((alerts.list ?? []).filter(isOpen).map((a) => a.camera_id ?? "")), [alerts.list]);
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const a of alerts.list ?? []) if (a.status === "open") c[a.severity] = (c[a.severity] ?? 0) + 1; // not yet acknowledged
    return c;
  }, [alerts.list]);
  const activeIncidents = (incidents.data ?? []).filter((i) => i.status !== "closed");
  const unitMarkers = useUnitMarkers();
  const dark = Object.values(health).filter(isBad).length;
  const wall = cams.data ?? [];

  return (
    <div class="dashboard">
      <section class="dash-summary" aria-label="Summary">
        {SEVERITIES.map((s) => (
          <div key={s} class={`kpi sev-${s}`} data-testid={`count-${s}`} title={`open (unacknowledged) ${s} alerts`}>
            <b>{counts[s] ?? 0}</b>
            <span>{s} open</span>
          </div>
        ))}
        <div class="kpi">
          <b>{activeIncidents.length}</b>
          <span>active incidents</span>
        </div>
        <div class="kpi">
          <b>{wall.length}</b>
          <span>cameras</span>
        </div>
        <div class={`kpi ${dark ? "sev-critical" : ""}`}>
          <b>{dark}</b>
          <span>dark</span>
        </div>
      </section>
      <section class="panel dash-map" aria-label="Map">
        <header class="panel-head">
          <h2>Map</h2>
          <span class="muted map-legend">
            {ui?.tile_url ? "" : "offline map: country outlines "}
            <span class="legend-unit">◆ units</span> <span>▲ incidents</span> <span>● cameras</span>
          </span>
        </header>
        {ui === null ? (
          <Loading what="Loading map" />
        ) : (
          <MapView
            cameras={cams.data}
            incidents={activeIncidents}
            hotCameras={hot}
            markers={unitMarkers}
            staleAfterS={ui.stale_after_s}
            maxZoom={ui.max_zoom}
            tileUrl={ui.tile_url}
            tileAttribution={ui.tile_attribution}
            center={ui.map_center}
            zoom={ui.map_zoom}
            selectedCamera={focus}
            onCameraClick={(id) => navigate(`/cameras/${encodeURIComponent(id)}`)}
          />
        )}
      </section>
      <section class="panel dash-feed" aria-label="Alerts">
        <header class="panel-head">
          <h2>Live alerts</h2>
          <Link href="/alerts" class="muted">
            all alerts →
          </Link>
        </header>
        <div class="panel-body scroll">
          {alerts.list === undefined ? (
            alerts.error ? (
              <ErrorBox error={alerts.error} retry={() => void alerts.reload()} />
            ) : (
              <Loading what="Loading alerts" />
            )
          ) : (
            <AlertFeed
              alerts={alerts.list}
              fresh={alerts.fresh}
              cameras={cams.data}
              onFocusCamera={setFocus}
              onChanged={(a) => alerts.set((l) => (l ?? []).map((x) => (String(x.id) === String(a.id) ? { ...x, ...a } : x)))}
            />
          )}
        </div>
      </section>
      <section class="panel dash-wall" aria-label="Cameras">
        <header class="panel-head">
          <h2>Cameras</h2>
          <span class="muted">{wall.length > MAX_LIVE_TILES ? `live: first ${MAX_LIVE_TILES}, others refresh every 5 s` : ""}</span>
        </header>
        <div class="panel-body scroll">
          {cams.data === undefined ? (
            cams.error ? (
              <ErrorBox error={cams.error} retry={() => void cams.reload()} />
            ) : (
              <Loading what="Loading cameras" />
            )
          ) : wall.length === 0 ? (
            <Empty>
              {me.cameras !== null && me.cameras !== undefined ? "No cameras are shared with you: ask an administrator for access." : "No cameras configured."}
              {can("cameras:manage") && <Link href="/admin/cameras"> Add one →</Link>}
            </Empty>
          ) : (
            <div class="wall">
              {wall.map((c, i) => (
                <CameraTile key={c.id} cam={c} health={health[c.id]} live={can("live:view") && i < MAX_LIVE_TILES} hot={hot.has(c.id)} />
              ))}
            </div>
          )}
        </div>
      </section>
    </div>
  );
}
