// Alerts: the working list. Acknowledge, assign, close, or open an incident from the selected rows.
import { useEffect, useMemo, useState } from "preact/hooks";
import { ackAlert, alertTime, alertTitle, assignAlert, closeAlert, isOpen, useAlerts } from "../alerts";
import { get, items, mediaUrl } from "../api";
import { IncidentForm } from "../components/IncidentForm";
import { act, Badge, Empty, ErrorBox, Field, Link, Loading, Modal } from "../components/ui";
import { cameraName, SEVERITIES, useCameras } from "../data";
import { ago, fmtDateTime, fromLocalInput, toLocalInput, zoneLabel } from "../format";
import { useKeys, useNow } from "../hooks";
import { setQuery, useLocation } from "../router";
import { useSession } from "../session";
import type { Alert, User } from "../types";

const STATUSES = [
  ["active", "Not closed"],
  ["open", "Open (new)"],
  ["acknowledged", "Acknowledged"],
  ["assigned", "Assigned"],
  ["closed", "Closed"],
  ["", "All"],
] as const;

function AssignDialog({ alert, onClose, onDone }: { alert: Alert; onClose: () => void; onDone: (a: Alert) => void }) {
  const { me, can } = useSession();
  const [users, setUsers] = useState<User[] | null>(null);
  const [userId, setUserId] = useState(String(me.user.id));
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!can("users:manage")) return;
    get<User[] | { items: User[] }>("/api/users").then(items).then(setUsers, () => setUsers(null));
  }, [can]);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      onDone(await assignAlert(alert.id, Number(userId)));
      onClose();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <Modal
      title={`Assign alert #${alert.id}`}
      onClose={onClose}
      footer={
        <button type="submit" form="assign-form" class="btn btn-primary">
          Assign
        </button>
      }
    >
      <form id="assign-form" class="form" onSubmit={submit}>
        <Field label="Assign to" wide>
          {users ? (
            <select name="user_id" value={userId} onChange={(e) => setUserId(e.currentTarget.value)}>
              {users.map((u) => (
                <option key={String(u.id)} value={String(u.id)}>
                  {u.username} {u.roles?.length ? `(${u.roles.join(", ")})` : ""}
                </option>
              ))}
            </select>
          ) : (
            <select name="user_id" value={userId} onChange={(e) => setUserId(e.currentTarget.value)}>
              <option value={String(me.user.id)}>me ({me.user.username})</option>
            </select>
          )}
        </Field>
        {error && <ErrorBox error={error} />}
      </form>
    </Modal>
  );
}

function CloseDialog({ alerts, onClose, onDone }: { alerts: Alert[]; onClose: () => void; onDone: (a: Alert) => void }) {
  const [note, setNote] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    for (const a of alerts) {
      try {
        onDone(await closeAlert(a.id, note));
      } catch (err) {
        setError(`#${a.id}: ${(err as Error).message}`);
        return;
      }
    }
    onClose();
  };
  return (
    <Modal
      title={alerts.length === 1 ? `Close alert #${alerts[0].id}` : `Close ${alerts.length} alerts`}
      onClose={onClose}
      footer={
        <button type="submit" form="close-form" class="btn btn-primary">
          Close
        </button>
      }
    >
      <form id="close-form" class="form" onSubmit={submit}>
        <Field label="Note (why it is closed)" wide>
          <textarea name="note" rows={3} value={note} onInput={(e) => setNote(e.currentTarget.value)} placeholder="e.g. false alarm: shadows; handled by unit 3" />
        </Field>
        {error && <ErrorBox error={error} />}
      </form>
    </Modal>
  );
}

export function AlertsPage() {
  const { can, me } = useSession();
  const loc = useLocation();
  const cams = useCameras();
  const now = useNow(5000);
  const filter = {
    status: loc.query.get("status") ?? "active",
    severity: loc.query.get("severity") ?? "",
    camera_id: loc.query.get("camera_id") ?? "",
    since: loc.query.get("since") ?? "",
    until: loc.query.get("until") ?? "",
  };
  const focus = loc.query.get("focus");
  const alerts = useAlerts(filter);
  const list = alerts.list ?? [];
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [cursor, setCursor] = useState(0);
  const [dialog, setDialog] = useState<null | { kind: "assign" | "close" | "incident"; alerts: Alert[] }>(null);

  useEffect(() => {
    if (!focus || !list.length) return;
    const i = list.findIndex((a) => String(a.id) === focus);
    if (i >= 0) setCursor(i);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [focus, list.length]);

  const update = (a: Alert) => alerts.set((l) => (l ?? []).map((x) => (String(x.id) === String(a.id) ? { ...x, ...a } : x)));
  const chosen = useMemo(() => {
    const s = list.filter((a) => selected.has(String(a.id)));
    return s.length ? s : list[cursor] ? [list[cursor]] : [];
  }, [list, selected, cursor]);

  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const ackChosen = async () => {
    for (const a of chosen.filter((x) => isOpen(x) && x.status !== "acknowledged")) {
      await act(`Acknowledge #${a.id}`, async () => update(await ackAlert(a.id)), `Alert #${a.id} acknowledged`);
    }
  };
  const setF = (k: string, v: string) => setQuery({ ...filter, [k]: v || null, status: k === "status" ? v || "all" : filter.status });

  useKeys(
    {
      j: () => setCursor((c) => Math.min(list.length - 1, c + 1)),
      k: () => setCursor((c) => Math.max(0, c - 1)),
      x: () => list[cursor] && toggle(String(list[cursor].id)),
      A: () => can("alerts:act") && void ackChosen(),
      C: () => can("alerts:act") && chosen.length && setDialog({ kind: "close", alerts: chosen }),
      N: () => can("incidents:write") && chosen.length && setDialog({ kind: "incident", alerts: chosen }),
    },
    !dialog,
  );

  return (
    <div class="alerts-page">
      <header class="page-head">
        <h1>
          Alerts{" "}
          {can("alert_rules:manage") && (
            <Link href="/alert-rules" class="btn btn-sm btn-ghost">
              Alert rules
            </Link>
          )}
        </h1>
        <div class="filters inline">
          <Field label="Status">
            <select name="status" value={filter.status === "all" ? "" : filter.status} onChange={(e) => setF("status", e.currentTarget.value)}>
              {STATUSES.map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Severity">
            <select name="severity" value={filter.severity} onChange={(e) => setF("severity", e.currentTarget.value)}>
              <option value="">all</option>
              {SEVERITIES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Camera">
            <select name="camera_id" value={filter.camera_id} onChange={(e) => setF("camera_id", e.currentTarget.value)}>
              <option value="">all</option>
              {(cams.data ?? []).map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name || c.id}
                </option>
              ))}
            </select>
          </Field>
          {/* read in the displayed zone (the site's or the user's own), labelled */}
          <Field label={`From (${zoneLabel(filter.since || Date.now())})`}>
            <input type="datetime-local" name="since" value={toLocalInput(filter.since)} onChange={(e) => setF("since", fromLocalInput(e.currentTarget.value) ?? "")} />
          </Field>
          <Field label={`To (${zoneLabel(filter.until || Date.now())})`}>
            <input type="datetime-local" name="until" value={toLocalInput(filter.until)} onChange={(e) => setF("until", fromLocalInput(e.currentTarget.value) ?? "")} />
          </Field>
        </div>
      </header>
      <div class="bulkbar" role="toolbar" aria-label="Actions on selected alerts">
        <span class="muted">{selected.size ? `${selected.size} selected` : "no selection: actions apply to the highlighted row"}</span>
        {can("alerts:act") && (
          <>
            <button type="button" class="btn btn-sm" disabled={!chosen.length} onClick={() => void ackChosen()} title="A">
              Acknowledge
            </button>
            <button type="button" class="btn btn-sm" disabled={chosen.length !== 1} onClick={() => setDialog({ kind: "assign", alerts: chosen })}>
              Assign…
            </button>
            <button type="button" class="btn btn-sm" disabled={!chosen.length} onClick={() => setDialog({ kind: "close", alerts: chosen })} title="C">
              Close…
            </button>
          </>
        )}
        {can("incidents:write") && (
          <button type="button" class="btn btn-sm btn-primary" disabled={!chosen.length} onClick={() => setDialog({ kind: "incident", alerts: chosen })} title="N">
            New incident…
          </button>
        )}
      </div>
      {alerts.error && <ErrorBox error={alerts.error} retry={() => void alerts.reload()} />}
      {alerts.list === undefined ? (
        !alerts.error && <Loading what="Loading alerts" />
      ) : list.length === 0 ? (
        <Empty>No alerts match. New ones appear here live.</Empty>
      ) : (
        <table class="grid alerts-table" data-testid="alerts-table">
          <thead>
            <tr>
              <th />
              <th>Severity</th>
              <th>Alert</th>
              <th>Camera</th>
              <th>Last seen</th>
              <th>Status</th>
              <th>Assignee</th>
              <th>Incident</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((a, i) => {
              const id = String(a.id);
              const snap = can("media:read") ? mediaUrl(a.snapshot ?? null) : null; // no broken pictures
              return (
                <tr
                  key={id}
                  data-alert-id={id}
                  data-status={a.status}
                  class={`sev-row sev-${a.severity} ${i === cursor ? "cursor" : ""} ${alerts.fresh.has(id) ? "fresh" : ""} ${isOpen(a) ? "" : "done"}`}
                  onClick={() => setCursor(i)}
                >
                  <td>
                    <input type="checkbox" aria-label={`select alert ${id}`} checked={selected.has(id)} onClick={(e) => e.stopPropagation()} onChange={() => toggle(id)} />
                  </td>
                  <td>
                    <Badge kind={a.severity}>{a.severity}</Badge>
                  </td>
                  <td>
                    {snap && <img class="row-thumb" src={snap} alt="" loading="lazy" />}
                    {alertTitle(a)}
                    {(a.occurrences ?? 0) > 1 && <span class="feed-count" title="repeats merged into this alert">×{a.occurrences}</span>}
                    <div class="muted small">
                      {a.rule_name && <span>{a.rule_name}</span>}
                      {a.count !== null && a.count !== undefined && <span> · max {a.count} {a.label ?? ""}</span>}
                      {a.close_note && <span> · closed: {a.close_note}</span>}
                    </div>
                  </td>
                  <td>{cameraName(cams.data, a.camera_id)}</td>
                  <td class="mono" title={`first ${fmtDateTime(a.first_seen ?? a.created_at)}, last ${fmtDateTime(a.last_seen)}`}>
                    {ago(alertTime(a), now)}
                  </td>
                  <td>
                    <Badge kind={a.status}>{a.status}</Badge>
                  </td>
                  <td class="small">
                    {a.assignee_id ? (a.assignee_id === me.id ? "me" : `user #${a.assignee_id}`) : "—"}
                    {a.acknowledged_by && <div class="muted">ack: {a.acknowledged_by}</div>}
                  </td>
                  <td>{a.incident_id ? <Link href={`/incidents/${a.incident_id}`}>#{a.incident_id}</Link> : "—"}</td>
                  <td class="row-actions" onClick={(e) => e.stopPropagation()}>
                    {can("alerts:act") && isOpen(a) && a.status !== "acknowledged" && (
                      <button type="button" class="btn btn-sm" onClick={() => void act("Acknowledge", async () => update(await ackAlert(a.id)), `Alert #${id} acknowledged`)}>
                        Ack
                      </button>
                    )}
                    {can("alerts:act") && isOpen(a) && (
                      <button type="button" class="btn btn-sm btn-ghost" onClick={() => setDialog({ kind: "close", alerts: [a] })}>
                        Close
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {dialog?.kind === "assign" && <AssignDialog alert={dialog.alerts[0]} onClose={() => setDialog(null)} onDone={update} />}
      {dialog?.kind === "close" && (
        <CloseDialog
          alerts={dialog.alerts}
          onClose={() => {
            setDialog(null);
            setSelected(new Set());
          }}
          onDone={update}
        />
      )}
      {dialog?.kind === "incident" && <IncidentForm alerts={dialog.alerts} onClose={() => setDialog(null)} />}
    </div>
  );
}
