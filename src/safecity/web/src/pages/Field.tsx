// Field unit (phone): dispatches arrive live; big buttons report en route, on scene, closed.
import { useRef, useState } from "preact/hooks";
import { get, items, post } from "../api";
import { LiveDot } from "../components/Shell";
import { act, Badge, Empty, ErrorBox, Loading, Toasts } from "../components/ui";
import { ago, humanize } from "../format";
import { useAsync, useInterval, useNow } from "../hooks";
import { useLive } from "../live";
import { displayName, useSession } from "../session";
import type { Dispatch, Incident, Unit } from "../types";

const NEXT: { status: string; label: string; cls: string }[] = [
  { status: "en_route", label: "En route", cls: "btn-enroute" },
  { status: "on_scene", label: "On scene", cls: "btn-onscene" },
  { status: "closed", label: "Closed", cls: "btn-closed" },
];
const RANK: Record<string, number> = { dispatched: 0, assigned: 0, new: 0, en_route: 1, on_scene: 2, closed: 3 };

function incidentOf(d: Dispatch): Partial<Incident> {
  return (d.incident ?? {}) as Partial<Incident>;
}

function DispatchCard({ d, fresh, onChange }: { d: Dispatch; fresh: boolean; onChange: (d: Dispatch) => void }) {
  const inc = incidentOf(d);
  const now = useNow(10000);
  const [busy, setBusy] = useState<string | null>(null);
  const rank = RANK[d.status] ?? 0;
  const title = inc.title ?? (d.incident_title as string | undefined) ?? `Incident #${d.incident_id}`;
  const lat = inc.lat ?? (d.lat as number | undefined);
  const lon = inc.lon ?? (d.lon as number | undefined);
  const set = async (status: string) => {
    setBusy(status);
    await act(humanize(status), async () => onChange(await post<Dispatch>(`/api/field/dispatches/${d.id}/status`, { status })), `Reported: ${humanize(status)}`);
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
          📍 {Number(lat).toFixed(5)}, {Number(lon).toFixed(5)}
        </a>
      )}
      {d.note && <p class="fcard-note">{d.note}</p>}
      {inc.description && <p>{inc.description}</p>}
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
  const sorted = [...(list.data ?? [])].sort((a, b) => {
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
        <LiveDot />
        <button type="button" class="btn btn-sm btn-ghost" onClick={() => void session.logout()}>
          Log out
        </button>
      </header>
      <main class="field-body" data-testid="field-dispatches">
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
            <DispatchCard key={String(d.id)} d={d} fresh={fresh.has(String(d.id))} onChange={(nd) => list.set((l) => (l ?? []).map((x) => (String(x.id) === String(nd.id) ? { ...x, ...nd } : x)))} />
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
