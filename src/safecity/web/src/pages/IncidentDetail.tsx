// Incident detail: status, camera evidence (snapshot, clip, evidence lock), timeline with notes, the SOP
// checklist, dispatch to an available unit, and the alerts and reports nearby in space and time.
import { useMemo, useState } from "preact/hooks";
import { get, patch, post } from "../api";
import { PRIORITIES } from "../components/IncidentForm";
import { act, Badge, Empty, ErrorBox, Link, StateView } from "../components/ui";
import { cameraName, useCameras } from "../data";
import { ago, fmtDateTime, humanize } from "../format";
import { useAsync, useNow } from "../hooks";
import { useSession } from "../session";
import type { ChecklistItem, Dispatch, Incident, TimelineEntry } from "../types";
import { useLiveReload } from "./Incidents";
import { IncidentMap, IncidentMessages, NearestUnitsPanel } from "../components/IncidentField";
import { correlatedMarkers, CorrelationPanel, IncidentEvidence, useCorrelated } from "../components/IncidentEvidence";

const entryTime = (e: TimelineEntry) => e.at ?? e.ts ?? e.created_at;
const entryText = (e: TimelineEntry) => e.text ?? e.message ?? e.note ?? humanize(e.kind ?? e.type ?? "");
const itemText = (c: ChecklistItem) => c.text ?? c.label ?? c.title ?? c.item_id;

/** Statuses an operator may set by hand (dispatched comes from dispatching a unit); mirrors the API. */
const TRANSITIONS: Record<string, string[]> = {
  new: ["on_scene", "resolved", "closed"],
  dispatched: ["on_scene", "resolved", "closed"],
  on_scene: ["resolved", "closed"],
  resolved: ["on_scene", "closed"],
  closed: [],
};
const ACTION_LABEL: Record<string, string> = { on_scene: "Mark on scene", resolved: "Resolve", closed: "Close incident" };


function Timeline({ inc, onChange }: { inc: Incident; onChange: () => void }) {
  const { can } = useSession();
  const [note, setNote] = useState("");
  const now = useNow(10000);
  const entries = [...(inc.timeline ?? [])].sort((a, b) => String(entryTime(b)).localeCompare(String(entryTime(a))));
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!note.trim()) return;
    if (await act("Add note", () => post(`/api/incidents/${inc.id}/notes`, { text: note.trim() }), "Note added")) {
      setNote("");
      onChange();
    }
  };
  return (
    <section class="panel">
      <header class="panel-head">
        <h2>Timeline</h2>
      </header>
      <div class="panel-body scroll">
        {can("incidents:write") && (
          <form class="note-form" onSubmit={submit}>
            <textarea name="note" rows={2} placeholder="Add a note to the timeline…" value={note} onInput={(e) => setNote(e.currentTarget.value)}
              onKeyDown={(e) => e.key === "Enter" && (e.ctrlKey || e.metaKey) && void submit(e)} />
            <button type="submit" class="btn btn-sm" disabled={!note.trim()}>
              Add note
            </button>
          </form>
        )}
        {entries.length === 0 ? (
          <Empty>No entries yet.</Empty>
        ) : (
          <ol class="timeline" data-testid="timeline">
            {entries.map((e, i) => (
              <li key={String(e.id ?? i)} class={`tl-${e.kind ?? e.type ?? "entry"}`}>
                <span class="mono muted" title={fmtDateTime(entryTime(e))}>
                  {ago(entryTime(e), now)}
                </span>
                <span class="tl-kind">{humanize(e.kind ?? e.type ?? "")}</span>
                <span class="tl-text">{entryText(e)}</span>
                {(e.actor || e.user) && <span class="muted">— {e.actor ?? e.user}</span>}
              </li>
            ))}
          </ol>
        )}
      </div>
    </section>
  );
}

function Checklist({ inc, onChange }: { inc: Incident; onChange: () => void }) {
  const { can } = useSession();
  const list = inc.checklist ?? [];
  const done = list.filter((c) => c.done).length;
  return (
    <section class="panel">
      <header class="panel-head">
        <h2>SOP checklist</h2>
        <span class="muted">
          {done}/{list.length}
        </span>
      </header>
      <div class="panel-body">
        {list.length === 0 ? (
          <Empty>No checklist for this incident type.</Empty>
        ) : (
          <ul class="checklist" data-testid="checklist">
            {list.map((c) => (
              <li key={c.item_id} class={c.done ? "done" : ""} data-item-id={c.item_id}>
                <label class="check">
                  <input
                    type="checkbox"
                    checked={c.done}
                    disabled={!can("incidents:write")}
                    onChange={async (e) => {
                      const v = e.currentTarget.checked;
                      if (await act("Checklist", () => post(`/api/incidents/${inc.id}/checklist/${encodeURIComponent(c.item_id)}`, { done: v }))) onChange();
                    }}
                  />
                  {itemText(c)}
                </label>
                {c.done && c.done_by && <span class="muted small"> — {c.done_by}</span>}
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}

function DispatchPanel({ inc }: { inc: Incident }) {
  const { can } = useSession();
  const dispatches: Dispatch[] = inc.dispatches ?? [];
  const closed = inc.status === "closed";
  return (
    <section class="panel">
      <header class="panel-head">
        <h2>Dispatch</h2>
      </header>
      <div class="panel-body">
        {dispatches.length > 0 && (
          <ul class="dispatches" data-testid="dispatches">
            {dispatches.map((d) => (
              <li key={String(d.id)} data-dispatch-status={d.status}>
                <b>{d.call_sign ?? `unit ${d.unit_id}`}</b> <Badge kind={d.status}>{humanize(d.status)}</Badge>
                <span class="muted small" title={`dispatched by ${d.dispatched_by ?? "?"} at ${fmtDateTime(d.dispatched_at)}`}>
                  {" "}
                  {ago(d.closed_at ?? d.on_scene_at ?? d.en_route_at ?? d.dispatched_at)}
                  {d.to_on_scene_s ? ` · on scene after ${Math.round(Number(d.to_on_scene_s))} s` : ""}
                </span>
              </li>
            ))}
          </ul>
        )}
        {dispatches.length === 0 && <Empty>No unit dispatched yet{can("dispatch:create") && !closed ? ": pick one under Nearest available units." : "."}</Empty>}
      </div>
    </section>
  );
}

/** The map with the alerts and reports nearby, and their list. */
function IncidentSide({ inc, onChange }: { inc: Incident; onChange: () => void }) {
  const corr = useCorrelated(inc);
  const pins = useMemo(() => correlatedMarkers(corr.data), [corr.data]);
  return (
    <>
      <IncidentMap inc={inc} onChange={onChange} extra={pins} />
      <CorrelationPanel c={corr} />
    </>
  );
}

export function IncidentDetailPage({ id }: { id: string }) {
  const { can } = useSession();
  const cams = useCameras();
  const inc = useAsync(() => get<Incident>(`/api/incidents/${encodeURIComponent(id)}`), [id]);
  useLiveReload(() => void inc.reload(), ["incident_update", "dispatch", "dispatch_update", "message", "dispatch_escalation"], (d) => String(d.incident_id ?? d.id) === id);
  const [error, setError] = useState<string | null>(null);
  const update = async (body: Partial<Incident>) => {
    setError(null);
    try {
      const next = await patch<Incident>(`/api/incidents/${encodeURIComponent(id)}`, body);
      inc.set((cur) => ({ ...(cur as Incident), ...next }));
      void inc.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <StateView async={inc} what="Loading incident">
      {(i) => (
        <div class="incident-page" data-incident-status={i.status}>
          <header class="page-head">
            <div>
              <Link href="/incidents" class="muted">
                ← Incidents
              </Link>
              <h1>
                <span class="mono muted">#{i.id}</span> {i.title}
              </h1>
              <div class="muted">
                {humanize(i.type)} · opened {fmtDateTime(i.created_at)}
                {i.camera_id && (
                  <>
                    {" · "}
                    <Link href={`/cameras/${encodeURIComponent(i.camera_id)}`}>{cameraName(cams.data, i.camera_id)}</Link>
                  </>
                )}
                {i.lat !== null && i.lat !== undefined && ` · ${i.lat.toFixed(5)}, ${i.lon?.toFixed(5)}`}
              </div>
            </div>
            <div class="incident-controls">
              <span class="status-big" data-testid="incident-status">
                <Badge kind={i.status}>{humanize(i.status)}</Badge>
              </span>
              {can("incidents:write") && (
                <>
                  {(TRANSITIONS[i.status] ?? []).map((s) => (
                    <button key={s} type="button" class={`btn ${s === "closed" ? "btn-ghost" : ""}`} onClick={() => void update({ status: s })}>
                      {ACTION_LABEL[s] ?? humanize(s)}
                    </button>
                  ))}
                  <label class="field">
                    <span class="field-label">Priority</span>
                    <select name="priority" value={String(i.priority)} onChange={(e) => void update({ priority: e.currentTarget.value })}>
                      {[...new Set([...PRIORITIES, String(i.priority)])].map((p) => (
                        <option key={p} value={p}>
                          {p}
                        </option>
                      ))}
                    </select>
                  </label>
                </>
              )}
            </div>
          </header>
          {error && <ErrorBox error={error} />}
          {i.description && <p>{i.description}</p>}
          <div class="incident-grid">
            <div class="incident-main">
              <IncidentEvidence inc={i} />
              <IncidentMessages inc={i} />
              <Timeline inc={i} onChange={() => void inc.reload()} />
            </div>
            <div class="incident-side">
              <NearestUnitsPanel inc={i} onChange={() => void inc.reload()} />
              <IncidentSide inc={i} onChange={() => void inc.reload()} />
              <DispatchPanel inc={i} />
              <Checklist inc={i} onChange={() => void inc.reload()} />
              {(i.alert_ids ?? []).length > 0 && (
                <section class="panel">
                  <header class="panel-head">
                    <h2>Alerts</h2>
                  </header>
                  <div class="panel-body">
                    {(i.alert_ids ?? []).map((a) => (
                      <Link key={String(a)} href={`/alerts?status=&focus=${a}`} class="tag">
                        #{a}
                      </Link>
                    ))}
                  </div>
                </section>
              )}
            </div>
          </div>
        </div>
      )}
    </StateView>
  );
}
