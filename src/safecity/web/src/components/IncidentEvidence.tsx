// The incident page's evidence and context: the linked camera's snapshot and event clip with a one-click
// evidence lock, and the correlation panel (other alerts and public reports near it in space and time).
// Only what the user may open is shown: the API gives a URL only then, and a picture that still fails to
// load is hidden rather than shown broken.
import { useState } from "preact/hooks";
import { get, post } from "../api";
import { fmtDateTime, humanize } from "../format";
import { type Async, useAsync } from "../hooks";
import { useSession } from "../session";
import type { Incident } from "../types";
import { distanceText } from "./IncidentField";
import type { MapMarker } from "./MapView";
import { act, Badge, Empty, Link } from "./ui";

interface IncidentClip {
  id: string;
  camera_id: string;
  start: string;
  end: string;
  url: string | null;
  redacted: boolean;
  original_url: string | null;
  locked: boolean;
}

interface IncidentMedia {
  camera_id: string | null;
  window_start: string | null;
  window_end: string | null;
  snapshot: { alert_id: number; event_id: string | null; url: string } | null;
  live_url: string | null;
  clip: IncidentClip | null;
  recorded: boolean;
  lock_ids: number[];
}

export interface CorrelatedItem {
  kind: "alert" | "report";
  id: number;
  title: string;
  severity: string | null;
  category: string | null;
  status: string;
  camera_id: string | null;
  at: string;
  distance_m: number;
  minutes_from_incident: number;
  incident_id: number | null;
  lat: number;
  lon: number;
}

export interface Correlated {
  lat: number | null;
  lon: number | null;
  radius_m: number;
  window_min: number;
  alerts_included: boolean;
  reports_included: boolean;
  items: CorrelatedItem[];
}

/** An <img> that disappears when it cannot be loaded (no broken picture). */
function Picture({ src, alt, testid }: { src: string; alt: string; testid: string }) {
  const [failed, setFailed] = useState(false);
  if (failed) return null;
  return <img class="incident-snapshot" src={src} alt={alt} data-testid={testid} onError={() => setFailed(true)} />;
}

export function IncidentEvidence({ inc }: { inc: Incident }) {
  const { can } = useSession();
  const media = useAsync(() => get<IncidentMedia>(`/api/incidents/${inc.id}/media`), [inc.id, inc.camera_id]);
  const m = media.data;
  if (!m || !m.camera_id) return null; // no camera: nothing recorded to show
  const clip = m.clip;
  const reason = `Incident #${inc.id}`;
  const cut = async () => {
    if (await act("Cut clip", () => post(`/api/incidents/${inc.id}/clip`), "Clip cut from the recording")) void media.reload();
  };
  const blur = async () => {
    if (!clip) return;
    const ok = await act("Blurred copy", () => post(`/api/recordings/clips/${clip.id}/export`, { reason, unredacted: false }), "Blurred copy made");
    if (ok) void media.reload();
  };
  const lock = async () => {
    const ok = await act("Lock as evidence", () => post(`/api/incidents/${inc.id}/evidence-lock`, {}), "Locked as evidence (audited)");
    if (ok) void media.reload();
  };
  const lockable = can("evidence:manage") && (clip !== null || m.snapshot !== null);
  return (
    <section class="panel" data-testid="incident-evidence">
      <header class="panel-head">
        <h2>Camera evidence</h2>
        {m.window_start && (
          <span class="muted small" title="The recording time around the incident">
            {fmtDateTime(m.window_start)} – {fmtDateTime(m.window_end)}
          </span>
        )}
      </header>
      <div class="panel-body incident-evidence">
        {m.snapshot ? (
          <Picture src={m.snapshot.url} alt={`Snapshot of alert ${m.snapshot.alert_id} (faces blurred)`} testid="incident-snapshot" />
        ) : (
          m.live_url && <Picture src={m.live_url} alt="The camera now (heads masked)" testid="incident-live" />
        )}
        {clip ? (
          <div class="incident-clip" data-clip-id={clip.id} data-locked={String(clip.locked)}>
            {clip.url ? (
              <video class="incident-video" controls preload="metadata" src={clip.url} data-testid="incident-clip" />
            ) : (
              <p class="muted small">
                The clip shows faces unblurred: it opens with <code>media:unredacted</code> only.
                {can("media:read") && " A blurred copy can be made (audited)."}
              </p>
            )}
            <div class="toolbar">
              {clip.url && <span class="muted small">{clip.redacted ? "Faces blurred" : "Unblurred (viewing audited)"}</span>}
              {!clip.url && can("media:read") && (
                <button type="button" class="btn btn-sm" onClick={() => void blur()}>
                  Make blurred copy
                </button>
              )}
              {clip.original_url && clip.url !== clip.original_url && (
                <a class="btn btn-sm btn-ghost" href={clip.original_url} target="_blank" rel="noopener">
                  Original (audited)
                </a>
              )}
            </div>
          </div>
        ) : m.recorded ? (
          can("incidents:write") ? (
            <button type="button" class="btn btn-sm" data-testid="cut-clip" onClick={() => void cut()}>
              Cut clip from the recording
            </button>
          ) : (
            <Empty>No clip cut yet.</Empty>
          )
        ) : (
          <Empty>No recording of this camera around the incident's time.</Empty>
        )}
        {lockable &&
          // locked: the clip as recorded, or (no clip) the alerts' events under a lock of this incident
          ((clip ? clip.locked : m.lock_ids.length > 0) ? (
            <Badge kind="locked">Locked as evidence</Badge>
          ) : (
            <button type="button" class="btn btn-sm btn-primary" data-testid="lock-evidence" onClick={() => void lock()}>
              Lock as evidence
            </button>
          ))}
        {m.lock_ids.length > 0 && <span class="muted small"> Evidence locks: {m.lock_ids.map((i) => `#${i}`).join(", ")}</span>}
      </div>
    </section>
  );
}

function offsetText(minutes: number): string {
  const m = Math.round(minutes);
  return m === 0 ? "same time" : m > 0 ? `${m} min after` : `${-m} min before`;
}

/** The incident's correlated alerts and reports (reloaded when its position changes). */
export function useCorrelated(inc: Incident): Async<Correlated> {
  return useAsync(() => get<Correlated>(`/api/incidents/${inc.id}/correlated`), [inc.id, inc.lat, inc.lon]);
}

/** Map pins of the correlated items: reports as squares, alerts as dots at their cameras. */
export function correlatedMarkers(d: Correlated | undefined): MapMarker[] {
  return (d?.items ?? []).map((i) => ({
    id: `${i.kind}-${i.id}`,
    lat: i.lat,
    lon: i.lon,
    kind: i.kind === "report" ? ("report" as const) : ("pin" as const),
    label: `${i.kind === "alert" ? "Alert" : "Report"} #${i.id}: ${i.title} (${offsetText(i.minutes_from_incident)})`,
  }));
}

export function CorrelationPanel({ c }: { c: Async<Correlated> }) {
  const d = c.data;
  return (
    <section class="panel" data-testid="correlation">
      <header class="panel-head">
        <h2>Nearby alerts and reports</h2>
        {d && (
          <span class="muted small">
            within {d.radius_m} m · ±{d.window_min} min
          </span>
        )}
      </header>
      <div class="panel-body">
        {!d ? (
          <Empty>{c.error ? c.error.message : "Loading…"}</Empty>
        ) : d.lat === null ? (
          <Empty>The incident has no position: set it on the map.</Empty>
        ) : d.items.length === 0 ? (
          <Empty>Nothing else nearby in that time.</Empty>
        ) : (
          <ul class="correlated">
            {d.items.map((i) => (
              <li key={`${i.kind}-${i.id}`} data-kind={i.kind} data-id={i.id}>
                <Badge kind={i.severity ?? i.kind}>{i.kind === "alert" ? i.severity : humanize(i.category)}</Badge>{" "}
                <Link href={i.kind === "alert" ? `/alerts?status=&focus=${i.id}` : "/reports"}>
                  {i.kind === "alert" ? `Alert #${i.id}` : `Report #${i.id}`}: {i.title}
                </Link>
                <span class="muted small">
                  {" "}
                  · {distanceText(i.distance_m)} · {offsetText(i.minutes_from_incident)} ({fmtDateTime(i.at)})
                  {i.incident_id ? ` · incident #${i.incident_id}` : ""}
                </span>
              </li>
            ))}
          </ul>
        )}
        {d && (!d.alerts_included || !d.reports_included) && (
          <p class="muted small">
            {[!d.alerts_included && "Alerts", !d.reports_included && "public reports"].filter(Boolean).join(" and ")} are not shown: your role may
            not read them.
          </p>
        )}
      </div>
    </section>
  );
}
