// Field unit (phone, a PWA): dispatches arrive live; big buttons report en route, on scene, closed; messages
// and photos to the control room; the position is sent every few seconds on duty. Everything the unit
// sends goes through the outbox (src/outbox.ts), so it survives bad coverage: queued, sent in order later.
import { useEffect, useRef, useState } from "preact/hooks";
import { get, items } from "../api";
import { MessageList } from "../components/Messages";
import { LiveDot } from "../components/Shell";
import { Badge, Empty, ErrorBox, Link, Loading, toast, Toasts } from "../components/ui";
import { loadUiConfig } from "../data";
import { ago, humanize } from "../format";
import { useAsync, useInterval, useNow } from "../hooks";
import { useLive } from "../live";
import { enqueue, flush, type Job, onFailed, onPending } from "../outbox";
import { displayName, useSession } from "../session";
import type { Dispatch, Incident, Unit } from "../types";

interface Fix {
  lat: number;
  lon: number;
}
let lastFix: Fix | null = null;

/** The current position (the last one known when the browser has none, refuses, or has not answered
 * within 3 s: an unanswered permission prompt must not hold up a status report). */
function getFix(): Promise<Fix | null> {
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(lastFix);
    const giveUp = window.setTimeout(() => resolve(lastFix), 3000);
    navigator.geolocation.getCurrentPosition(
      (p) => {
        window.clearTimeout(giveUp);
        resolve((lastFix = { lat: p.coords.latitude, lon: p.coords.longitude }));
      },
      () => {
        window.clearTimeout(giveUp);
        resolve(lastFix);
      },
      { enableHighAccuracy: true, timeout: 8000, maximumAge: 5000 },
    );
  });
}

async function sendPosition(): Promise<void> {
  const fix = await getFix();
  if (fix) await enqueue({ kind: "position", path: "/api/field/position", json: { ...fix, at: new Date().toISOString() }, label: "position" });
}

/** Install the service worker; once it controls the page, fetch what the app needs at start through it
 * so that a reload without coverage finds them in its cache. */
async function registerWorker(): Promise<void> {
  try {
    await navigator.serviceWorker.register("/sw.js");
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
    }
    await Promise.all(["/api/auth/me", "/api/field/unit", "/api/field/dispatches", "/api/public/ui-config"].map((p) => fetch(p, { credentials: "same-origin" })));
  } catch {
    /* no offline copy: the app still works online */
  }
}

function useOnline(): boolean {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const up = () => setOnline(true);
    const down = () => setOnline(false);
    window.addEventListener("online", up);
    window.addEventListener("offline", down);
    return () => {
      window.removeEventListener("online", up);
      window.removeEventListener("offline", down);
    };
  }, []);
  return online;
}

function useOutbox(): Job[] {
  const [jobs, setJobs] = useState<Job[]>([]);
  useEffect(() => onPending(setJobs), []);
  useEffect(() => onFailed((job, err) => toast(`${humanize(job.label)} refused: ${err.message}`, "error")), []);
  return jobs;
}

const NEXT: { status: string; label: string; cls: string }[] = [
  { status: "en_route", label: "En route", cls: "btn-enroute" },
  { status: "on_scene", label: "On scene", cls: "btn-onscene" },
  { status: "closed", label: "Closed", cls: "btn-closed" },
];
const RANK: Record<string, number> = { dispatched: 0, assigned: 0, new: 0, en_route: 1, on_scene: 2, closed: 3 };

function incidentOf(d: Dispatch): Partial<Incident> {
  return (d.incident ?? {}) as Partial<Incident>;
}

function DispatchCard({ d, fresh, jobs, onChange }: { d: Dispatch; fresh: boolean; jobs: Job[]; onChange: (d: Dispatch) => void }) {
  const inc = incidentOf(d);
  const now = useNow(10000);
  const [busy, setBusy] = useState<string | null>(null);
  const rank = RANK[d.status] ?? 0;
  const dispatchId = Number(d.id);
  const queued = jobs
    .filter((j) => j.kind === "message" && j.dispatchId === dispatchId)
    .map((j) => ({ key: j.key, text: j.text ?? "", hasPhoto: !!j.photo }));
  const title = inc.title ?? (d.incident_title as string | undefined) ?? `Incident #${d.incident_id}`;
  const lat = inc.lat ?? (d.lat as number | undefined);
  const lon = inc.lon ?? (d.lon as number | undefined);
  const set = async (status: string) => {
    setBusy(status);
    await sendPosition(); // with its own fix time: a replay later cannot pass for a newer position
    await enqueue({ kind: "status", path: `/api/field/dispatches/${d.id}/status`, json: { status }, label: `${humanize(status)}`, dispatchId });
    onChange({ ...d, status }); // shown at once; the server's answer follows (now or when back online)
    toast(navigator.onLine ? `Reported: ${humanize(status)}` : `${humanize(status)} queued: sent when back online`);
    setBusy(null);
  };
  return (
    <article class={`fcard ${fresh ? "fresh" : ""} fstatus-${d.status}`} data-dispatch-id={String(d.id)} data-status={d.status}>
      <header>
        <Badge kind={String(inc.priority ?? "medium")}>{String(inc.priority ?? "")}</Badge>
        <span class="fcard-status" data-testid="dispatch-status">
          {humanize(d.status)}
        </span>
      </header>
      <h2>{title}</h2>
      <p class="fcard-meta">
        {inc.type && <span>{humanize(inc.type)}</span>}
        {(inc.camera_id ?? (d.camera_id as string | undefined)) && <span>camera {inc.camera_id ?? (d.camera_id as string)}</span>}
        <span>dispatched {ago(d.dispatched_at ?? d.created_at, now)}</span>
      </p>
      {lat !== undefined && lat !== null && lon !== undefined && lon !== null && (
        <a class="fcard-loc" href={`geo:${lat},${lon}`}>
          Map: {Number(lat).toFixed(5)}, {Number(lon).toFixed(5)}
        </a>
      )}
      {d.note && <p class="fcard-note">{d.note}</p>}
      {inc.description && <p>{inc.description}</p>}
      {d.status !== "closed" && (
        <MessageList
          incidentId={Number(d.incident_id)}
          listUrl={`/api/field/dispatches/${d.id}/messages`}
          photoUrl={(id) => `/api/field/dispatches/${d.id}/messages/${id}/photo`}
          queued={queued}
          send={async (text, photo) => {
            await enqueue({ kind: "message", path: `/api/field/dispatches/${d.id}/messages`, text, photo, label: "message", dispatchId });
            return true;
          }}
        />
      )}
      {d.status !== "closed" && (
        <div class="fbuttons">
          {NEXT.map((n) => (
            <button
              key={n.status}
              type="button"
              class={`btn fbtn ${n.cls} ${d.status === n.status ? "current" : ""}`}
              disabled={busy !== null || (RANK[n.status] ?? 0) <= rank}
              onClick={() => void set(n.status)}
            >
              {busy === n.status ? "…" : n.label}
            </button>
          ))}
        </div>
      )}
    </article>
  );
}

export function FieldPage() {
  const session = useSession();
  const list = useAsync(() => get<Dispatch[] | { items: Dispatch[] }>("/api/field/dispatches").then(items), []);
  // the unit this account answers for (404 when none is linked yet)
  const unit = useAsync(() => get<Unit>("/api/field/unit"), []);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const reloadTimer = useRef<number | undefined>(undefined);
  useLive(["dispatch", "dispatch_update", "unit_update"], (msg) => {
    const d = msg.data as Partial<Dispatch>;
    if (msg.type === "dispatch" && d.id !== undefined) {
      const id = String(d.id);
      const known = (list.data ?? []).some((x) => String(x.id) === id);
      if (!known) {
        setFresh((s) => new Set(s).add(id));
        navigator.vibrate?.([200, 100, 200]);
        window.setTimeout(() => setFresh((s) => {
          const n = new Set(s);
          n.delete(id);
          return n;
        }), 8000);
      }
    }
    window.clearTimeout(reloadTimer.current);
    reloadTimer.current = window.setTimeout(() => {
      void list.reload();
      void unit.reload();
    }, 200);
  });
  useInterval(() => void list.reload(), 20000);
  const jobs = useOutbox();
  const online = useOnline();
  const cfg = useAsync(() => loadUiConfig(), []);
  const everyMs = Math.max(1, Number(cfg.data?.position_every_s ?? 10)) * 1000;
  const [dutyOverride, setDutyOverride] = useState<boolean | null>(null);
  const onDuty = dutyOverride ?? (unit.data ? unit.data.status !== "off_duty" : false);
  useEffect(() => {
    if ("serviceWorker" in navigator) void registerWorker();
    void flush();
  }, []);
  useEffect(() => {
    if (onDuty && unit.data) void sendPosition();
  }, [onDuty, unit.data?.id]);
  useInterval(() => void (onDuty && unit.data && sendPosition()), onDuty ? everyMs : null);
  const setDuty = async (on: boolean) => {
    setDutyOverride(on);
    await enqueue({ kind: "duty", path: "/api/field/duty", json: { on_duty: on }, label: on ? "on duty" : "off duty" });
    if (on) void sendPosition();
  };
  // a status report still in the outbox is shown over the server's older state
  const queuedStatus = new Map<number, string>();
  for (const j of jobs) {
    const st = (j.json as { status?: string } | undefined)?.status;
    if (j.kind === "status" && j.dispatchId !== undefined && st) queuedStatus.set(j.dispatchId, st);
  }
  const withQueued = (list.data ?? []).map((d) => {
    const q = queuedStatus.get(Number(d.id));
    return q && (RANK[q] ?? 0) > (RANK[d.status] ?? 0) ? { ...d, status: q } : d;
  });
  const sorted = [...withQueued].sort((a, b) => {
    const ca = a.status === "closed" ? 1 : 0;
    const cb = b.status === "closed" ? 1 : 0;
    return ca - cb || String(b.dispatched_at).localeCompare(String(a.dispatched_at));
  });
  const active = sorted.filter((d) => d.status !== "closed");
  const done = sorted.filter((d) => d.status === "closed").slice(0, 5);
  return (
    <div class="field-page">
      <header class="field-head">
        <div>
          <b data-testid="unit-call-sign">{unit.data?.call_sign ?? displayName(session.me)}</b>
          <small>{unit.data ? `${humanize(unit.data.status ?? "")} · ${displayName(session.me)}` : unit.error ? "no unit linked to this account" : "field unit"}</small>
        </div>
        <span class="field-net">
          {!online && <span class="field-offline" data-testid="offline">Offline</span>}
          {jobs.length > 0 && (
            <span class="field-queue" data-testid="outbox-count" title="Waiting to be sent">
              {jobs.length} queued
            </span>
          )}
          <LiveDot />
        </span>
        {session.can("incidents:read") && (
          <Link href="/" class="field-back">
            ← Control room
          </Link>
        )}
        <button type="button" class="btn btn-sm btn-ghost" onClick={() => void session.logout()}>
          Log out
        </button>
      </header>
      <main class="field-body" data-testid="field-dispatches">
        {unit.data && (
          <div class="field-duty" data-testid="duty" data-on-duty={String(onDuty)}>
            <span>
              {onDuty ? "On duty" : "Off duty"}
              <small class="muted">{onDuty ? (lastFix ? " · position shared" : " · waiting for a position") : ""}</small>
            </span>
            <button type="button" class={`btn btn-sm ${onDuty ? "btn-ghost" : "btn-primary"}`} onClick={() => void setDuty(!onDuty)}>
              {onDuty ? "Go off duty" : "Go on duty"}
            </button>
          </div>
        )}
        {list.error && <ErrorBox error={list.error} retry={() => void list.reload()} />}
        {list.data === undefined ? (
          !list.error && <Loading what="Loading dispatches" />
        ) : active.length === 0 ? (
          <Empty>
            No active dispatch.
            <br />
            New ones appear here as soon as they are sent.
          </Empty>
        ) : (
          active.map((d) => (
            <DispatchCard key={String(d.id)} d={d} jobs={jobs} fresh={fresh.has(String(d.id))} onChange={(nd) => list.set((l) => (l ?? []).map((x) => (String(x.id) === String(nd.id) ? { ...x, ...nd } : x)))} />
          ))
        )}
        {done.length > 0 && (
          <details class="field-done">
            <summary>Recently closed ({done.length})</summary>
            {done.map((d) => (
              <div key={String(d.id)} class="muted">
                {incidentOf(d).title ?? `Incident #${d.incident_id}`} — closed {ago(d.closed_at)}
              </div>
            ))}
          </details>
        )}
      </main>
      <Toasts />
    </div>
  );
}
