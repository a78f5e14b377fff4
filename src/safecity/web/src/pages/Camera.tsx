// One camera: live annotated view with its analysis health, recent events, and the rule editor.
import { useState } from "preact/hooks";
import { ApiError, get, items, mediaUrl } from "../api";
import { RuleEditor } from "../components/RuleEditor";
import { Badge, Empty, LiveImage, Link, StateView } from "../components/ui";
import { forgetCameras } from "../data";
import { ago, fmtDateTime, fmtTime, humanize, num } from "../format";
import { normaliseCamera, useCameraStatusLive } from "../health";
import { useAsync, useInterval, useNow } from "../hooks";
import { useLive } from "../live";
import { navigate, useLocation } from "../router";
import { useSession } from "../session";
import type { Camera, SafeEvent } from "../types";

function Stats({ id, camera }: { id: string; camera: Camera }) {
  const fresh = useAsync(() => get<Camera>(`/api/cameras/${encodeURIComponent(id)}`), [id]);
  useInterval(() => void fresh.reload(), 3000);
  const live = useCameraStatusLive();
  const now = useNow(1000);
  const c = fresh.data ?? camera;
  const h = normaliseCamera(id, { ...(c.health ?? {}), ...(live[id] ?? {}), enabled: c.enabled });
  const state = h.state;
  return (
    <dl class="stats" data-testid="camera-stats">
      <dt>Status</dt>
      <dd>
        <Badge kind={state}>{state}</Badge>
      </dd>
      <dt>Analysed fps</dt>
      <dd>
        {num(h.fps)} <span class="muted">/ {c.fps ? num(c.fps, 0) : "all"}</span>
      </dd>
      <dt>Dropped frames</dt>
      <dd>{h.dropped ?? "—"}</dd>
      <dt>Detector latency</dt>
      <dd>{h.latencyMs !== null && h.latencyMs !== undefined ? `${num(h.latencyMs)} ms` : "—"}</dd>
      <dt>Reconnects</dt>
      <dd>{h.reconnects ?? "—"}</dd>
      <dt>Last frame</dt>
      <dd title={h.lastFrame ? fmtDateTime(h.lastFrame.getTime()) : undefined}>{h.lastFrame ? ago(h.lastFrame.getTime(), now) : "—"}</dd>
      {h.error && (
        <>
          <dt>Error</dt>
          <dd class="text-bad">{h.error}</dd>
        </>
      )}
    </dl>
  );
}

function RecentEvents({ id }: { id: string }) {
  const { can } = useSession(); // snapshots need media:read: without it, no picture rather than a broken one
  const ev = useAsync(() => get<{ items: SafeEvent[] } | SafeEvent[]>("/api/events", { camera_id: id, limit: 15 }).then(items), [id]);
  useLive(["event"], (msg) => {
    const e = msg.data as unknown as SafeEvent;
    if (e.camera_id === id) ev.set((l) => [e, ...(l ?? [])].slice(0, 15));
  });
  return (
    <StateView async={ev} isEmpty={(d) => d.length === 0} empty="No events yet." what="Loading events">
      {(list) => (
        <ul class="mini-events">
          {list.map((e) => (
            <li key={e.id}>
              {e.snapshot && can("media:read") && <img src={mediaUrl(e.snapshot)!} alt="" loading="lazy" />}
              <span class="mono">{fmtTime(e.start)}</span> {humanize(e.kind)} {e.label ?? ""} {e.direction ?? ""}
              {e.zone_id ? ` · ${e.zone_id}` : ""}
              {e.line_id ? ` · ${e.line_id}` : ""}
              {e.count !== null && e.count !== undefined ? ` · ${e.count}` : ""}
            </li>
          ))}
        </ul>
      )}
    </StateView>
  );
}

export function CameraPage({ id }: { id: string }) {
  const { can, me } = useSession();
  const loc = useLocation();
  const tab = loc.query.get("tab") === "rules" ? "rules" : "live";
  const cam = useAsync(() => get<Camera>(`/api/cameras/${encodeURIComponent(id)}`), [id]);
  const [, setSaved] = useState(0);
  // a restricted account is told the camera is not shared with it (the API hides it as "not found")
  if (cam.error instanceof ApiError && cam.error.status === 404 && me.cameras !== null && me.cameras !== undefined) {
    return <Empty>Camera {id} is not shared with you: ask an administrator for access.</Empty>;
  }
  return (
    <StateView async={cam} what="Loading camera">
      {(c) => (
        <div class="camera-page">
          <header class="page-head">
            <div>
              <Link href="/" class="muted">
                ← Dashboard
              </Link>
              <h1>
                {c.name || c.id} <small class="mono muted">{c.id}</small>
              </h1>
            </div>
            <div class="tabs" role="tablist">
              <button type="button" role="tab" aria-selected={tab === "live"} class={tab === "live" ? "on" : ""} onClick={() => navigate(`/cameras/${encodeURIComponent(id)}`, true)}>
                Live
              </button>
              <button type="button" role="tab" aria-selected={tab === "rules"} class={tab === "rules" ? "on" : ""} onClick={() => navigate(`/cameras/${encodeURIComponent(id)}?tab=rules`, true)}>
                Lines &amp; zones
              </button>
              {can("cameras:manage") && (
                <Link href={`/admin/cameras?edit=${encodeURIComponent(id)}`} class="btn btn-sm btn-ghost">
                  Camera settings
                </Link>
              )}
            </div>
          </header>
          {tab === "live" ? (
            <div class="camera-live">
              <div class="camera-view">
                {c.enabled === false ? (
                  <Empty>This camera is disabled.</Empty>
                ) : can("live:view") ? (
                  <LiveImage src={`/api/cameras/${encodeURIComponent(id)}/live.mjpeg`} alt={`${c.name || c.id} live`} class="live-big" />
                ) : (
                  <Empty>Your roles do not include live video.</Empty>
                )}
              </div>
              <aside class="camera-side">
                <section class="panel">
                  <header class="panel-head">
                    <h2>Analysis</h2>
                  </header>
                  <div class="panel-body">
                    <Stats id={id} camera={c} />
                    <div class="muted small mono">{c.source}</div>
                  </div>
                </section>
                {can("events:read") && (
                  <section class="panel">
                    <header class="panel-head">
                      <h2>Recent events</h2>
                      <Link href={`/events?camera_id=${encodeURIComponent(id)}`} class="muted">
                        search →
                      </Link>
                    </header>
                    <div class="panel-body scroll">
                      <RecentEvents id={id} />
                    </div>
                  </section>
                )}
              </aside>
            </div>
          ) : (
            <RuleEditor
              camera={c}
              canEdit={can("cameras:manage")}
              onSaved={(updated) => {
                forgetCameras();
                cam.set(() => updated);
                setSaved((n) => n + 1);
              }}
            />
          )}
        </div>
      )}
    </StateView>
  );
}
