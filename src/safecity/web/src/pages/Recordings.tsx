// Recordings: a camera's timeline (segments as bars, events as markers), playback of a segment and an
// audited clip export around a chosen event or time. Playback needs media:unredacted (the video is not
// blurred); exports are redacted unless asked otherwise and allowed.
import { useState } from "preact/hooks";
import { ApiError, get, post } from "../api";
import { Empty, ErrorBox, Field, Loading } from "../components/ui";
import { useCameras } from "../data";
import { fmtDateTime, fromLocalInput, toLocalInput, zoneLabel } from "../format";
import { useAsync } from "../hooks";
import { useSession } from "../session";

interface Segment {
  id: string;
  start: string;
  end: string;
  status: string;
  codec: string;
  transcoded: boolean;
  locked: boolean;
  url: string | null;
}

interface EventMark {
  id: string;
  kind: string;
  start: string;
  end: string;
  label: string | null;
}

interface Clip {
  id: string;
  camera_id: string;
  event_id: string | null;
  start: string;
  end: string;
  bytes: number;
  redacted: boolean;
  reason: string;
  url: string;
}

interface Timeline {
  camera_id: string;
  since: string;
  until: string;
  segments: Segment[];
  recording_enabled?: boolean | null;
  other_codecs?: string | null;
  gaps: [string, string][];
  events: EventMark[];
  events_truncated: boolean;
  clips: Clip[];
}

const HOUR = 3600_000;
const ms = (v: string) => new Date(v).getTime();

export function RecordingsPage() {
  const session = useSession();
  const cams = useCameras();
  const [camera, setCamera] = useState("");
  const [since, setSince] = useState(new Date(Date.now() - HOUR).toISOString());
  const [until, setUntil] = useState(new Date().toISOString());
  const [query, setQuery] = useState<{ camera: string; since: string; until: string } | null>(null);
  const [playing, setPlaying] = useState<Segment | null>(null);
  const [at, setAt] = useState<{ time: number; event?: EventMark } | null>(null);
  const [reason, setReason] = useState("");
  const [exported, setExported] = useState<Clip | string | null>(null);
  const canPlay = session.can("media:unredacted");
  const canExport = session.can("media:read");

  const tl = useAsync(async () => {
    if (!query) return null;
    return get<Timeline>(`/api/recordings/${encodeURIComponent(query.camera)}/timeline`, {
      since: query.since,
      until: query.until,
    });
  }, [query]);

  const show = (e: Event) => {
    e.preventDefault();
    const cam = camera || cams.data?.[0]?.id || "";
    if (!cam) return;
    setCamera(cam);
    setPlaying(null);
    setAt(null);
    setExported(null);
    setQuery({ camera: cam, since, until });
  };

  const exportClip = async () => {
    if (!at || !query) return;
    setExported(null);
    const start = at.event ? ms(at.event.start) - 5000 : at.time - 10_000;
    const end = at.event ? Math.max(ms(at.event.end), ms(at.event.start)) + 5000 : at.time + 10_000;
    try {
      const clip = await post<Clip>(`/api/recordings/${encodeURIComponent(query.camera)}/export`, {
        start: new Date(start).toISOString(),
        end: new Date(end).toISOString(),
        reason: reason || "operator review",
      });
      setExported(clip);
    } catch (err) {
      setExported(err instanceof ApiError ? `Refused (${err.status}): ${err.message}` : String(err));
    }
  };

  const data = tl.data;
  const t0 = data ? ms(data.since) : 0;
  const span = data ? Math.max(1, ms(data.until) - t0) : 1;
  const pct = (t: number) => `${Math.min(100, Math.max(0, ((t - t0) / span) * 100))}%`;
  const width = (a: number, b: number) => `${Math.max(0.2, ((Math.min(b, t0 + span) - Math.max(a, t0)) / span) * 100)}%`;

  return (
    <div class="recordings-page">
      <header class="page-head">
        <h1>Recordings</h1>
      </header>
      <form class="filters" onSubmit={show} aria-label="Timeline">
        <Field label="Camera">
          <select name="camera_id" value={camera} onChange={(e) => setCamera(e.currentTarget.value)}>
            {(cams.data ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.name || c.id}
              </option>
            ))}
          </select>
        </Field>
        <Field label={`From (${zoneLabel(since || Date.now())})`}>
          <input type="datetime-local" name="since" value={toLocalInput(since)} onInput={(e) => setSince(fromLocalInput(e.currentTarget.value) ?? since)} />
        </Field>
        <Field label={`To (${zoneLabel(until || Date.now())})`}>
          <input type="datetime-local" name="until" value={toLocalInput(until)} onInput={(e) => setUntil(fromLocalInput(e.currentTarget.value) ?? until)} />
        </Field>
        <div class="filter-actions">
          <button type="submit" class="btn btn-primary">
            Show timeline
          </button>
        </div>
      </form>
      {tl.error && <ErrorBox error={tl.error} retry={() => void tl.reload()} />}
      {query && tl.loading && !data && <Loading what="Loading timeline" />}
      {data && data.segments.length === 0 && (
        <Empty>
          <span data-testid="no-segments">
            {data.recording_enabled === false
              ? "No segments: this camera does not record (recording is off by default; set recording.enabled: true, or enabled under the camera's recording:)."
              : data.recording_enabled && data.other_codecs === "refuse"
                ? "No segments in this range. If the source is not H.264/H.265 (the PETS sample is MPEG-4), recording refuses it: set recording.other_codecs: transcode."
                : "Nothing recorded in this range."}
          </span>
        </Empty>
      )}
      {data && (
        <section class="timeline" aria-label="Timeline">
          <div
            class="timeline-track"
            data-testid="timeline"
            style={{ position: "relative", height: "48px", background: "var(--panel, #1b1f27)", cursor: "crosshair" }}
            onClick={(e) => {
              const box = (e.currentTarget as HTMLElement).getBoundingClientRect();
              setAt({ time: t0 + ((e.clientX - box.left) / box.width) * span });
            }}
          >
            {data.segments.map((s) => (
              <button
                type="button"
                key={s.id}
                class={`timeline-segment seg-${s.status}${s.locked ? " locked" : ""}${playing?.id === s.id ? " active" : ""}`}
                title={`${fmtDateTime(s.start)} – ${fmtDateTime(s.end)} (${s.status}${s.locked ? ", evidence lock" : ""})`}
                style={{
                  position: "absolute",
                  top: "8px",
                  height: "20px",
                  left: pct(ms(s.start)),
                  width: width(ms(s.start), ms(s.end)),
                  background: s.status === "missing" ? "#555" : s.locked ? "#c08a1e" : "#2f7dd1",
                  border: playing?.id === s.id ? "2px solid #fff" : "1px solid #0004",
                  padding: 0,
                }}
                disabled={s.status === "missing"}
                onClick={(e) => {
                  e.stopPropagation();
                  setPlaying(s);
                  setAt({ time: ms(s.start) });
                }}
              />
            ))}
            {data.events.map((ev) => (
              <span
                key={ev.id}
                class="timeline-event"
                role="button"
                title={`${ev.kind}${ev.label ? ` ${ev.label}` : ""} at ${fmtDateTime(ev.start)}`}
                style={{ position: "absolute", top: "30px", left: pct(ms(ev.start)), width: "3px", height: "16px", background: at?.event?.id === ev.id ? "#fff" : "#e5484d", cursor: "pointer" }}
                onClick={(e) => {
                  e.stopPropagation();
                  setAt({ time: ms(ev.start), event: ev });
                }}
              />
            ))}
            {at && <span class="timeline-cursor" style={{ position: "absolute", top: 0, bottom: 0, left: pct(at.time), width: "1px", background: "#fff" }} />}
          </div>
          <div class="muted">
            {fmtDateTime(data.since)} – {fmtDateTime(data.until)} · {data.segments.length} segments · {data.events.length} events
            {data.events_truncated ? " (more events than shown)" : ""} · {data.gaps.length} gaps
          </div>
        </section>
      )}
      {playing &&
        (canPlay ? (
          <section class="playback">
            <h2>
              Segment {fmtDateTime(playing.start)} – {fmtDateTime(playing.end)}
            </h2>
            <video key={playing.id} controls preload="metadata" style={{ maxWidth: "100%" }} src={`/api/recordings/segments/${encodeURIComponent(playing.id)}/video`} />
          </section>
        ) : (
          <ErrorBox error="Playing recordings needs media:unredacted (the video is not blurred); export a redacted clip instead." />
        ))}
      {data && at && canExport && (
        <section class="export">
          <h2>Export clip</h2>
          <p class="muted">
            {at.event ? `Around event ${at.event.kind}${at.event.label ? ` (${at.event.label})` : ""} at ${fmtDateTime(at.event.start)}` : `20 s around ${fmtDateTime(at.time)}`}
          </p>
          <Field label="Reason">
            <input name="reason" value={reason} placeholder="case or request reference" onInput={(e) => setReason(e.currentTarget.value)} />
          </Field>
          <button type="button" class="btn btn-primary" onClick={() => void exportClip()}>
            Export clip
          </button>
          {typeof exported === "string" && <ErrorBox error={exported} />}
          {exported && typeof exported !== "string" && (
            <p>
              Clip ready ({exported.redacted ? "redacted" : "unredacted"}, {Math.round(exported.bytes / 1024)} KiB):{" "}
              <a href={exported.url} target="_blank" rel="noreferrer">
                download
              </a>
            </p>
          )}
        </section>
      )}
    </div>
  );
}
