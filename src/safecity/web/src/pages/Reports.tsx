// Triage of reports from the public: dismiss, or turn into an incident.
import { useState } from "preact/hooks";
import { get, items, post } from "../api";
import { act, Badge, Empty, ErrorBox, Field, Link, Loading, Modal } from "../components/ui";
import { cameraName, useCameras } from "../data";
import { ago, fmtDateTime, fromLocalInput, humanize, toLocalInput, zoneLabel } from "../format";
import { useAsync, useInterval, useKeys, useNow } from "../hooks";
import { setQuery, useLocation } from "../router";
import type { PublicReport } from "../types";
import { useLiveReload } from "./Incidents";

function photoOf(r: PublicReport): string | null {
  return r.has_photo ? `/api/reports/${r.id}/photo` : null;
}

export function ReportsPage() {
  const loc = useLocation();
  const cams = useCameras();
  const now = useNow(10000);
  const status = loc.query.get("status") ?? "new";
  const since = loc.query.get("since") ?? "";
  const until = loc.query.get("until") ?? "";
  const reports = useAsync(
    () => get<PublicReport[] | { items: PublicReport[] }>("/api/reports", { status: status && status !== "all" ? status : undefined, since, until, limit: 200 }).then(items),
    [status, since, until],
  );
  const setF = (k: string, v: string) => setQuery({ status, since: since || null, until: until || null, [k]: v || null });
  const [cursor, setCursor] = useState(0);
  const [photo, setPhoto] = useState<string | null>(null);
  useLiveReload(() => void reports.reload(), ["report"]);
  useInterval(() => void reports.reload(), 15000);
  const list = reports.data ?? [];

  const triage = async (r: PublicReport, action: "dismiss" | "incident") => {
    const ok = await act(
      action === "dismiss" ? "Dismiss" : "Create incident",
      () => post(`/api/reports/${r.id}/triage`, { action }),
      action === "dismiss" ? `Report #${r.id} dismissed` : `Incident opened from report #${r.id}`,
    );
    if (ok) void reports.reload();
  };
  useKeys(
    {
      j: () => setCursor((c) => Math.min(list.length - 1, c + 1)),
      k: () => setCursor((c) => Math.max(0, c - 1)),
      D: () => list[cursor] && void triage(list[cursor], "dismiss"),
      I: () => list[cursor] && void triage(list[cursor], "incident"),
    },
    !photo,
  );

  return (
    <div class="reports-page">
      <header class="page-head">
        <h1>Reports from the public</h1>
        <div class="filters inline">
          <Field label="Status">
            <select name="status" value={status} onChange={(e) => setF("status", e.currentTarget.value || "")}>
              <option value="new">New (to triage)</option>
              <option value="dismissed">Dismissed</option>
              <option value="incident">Made incident</option>
              <option value="all">All</option>
            </select>
          </Field>
          {/* when it happened, read in the displayed zone (the site's or the user's own) */}
          <Field label={`From (${zoneLabel(since || Date.now())})`}>
            <input type="datetime-local" name="since" value={toLocalInput(since)} onChange={(e) => setF("since", fromLocalInput(e.currentTarget.value) ?? "")} />
          </Field>
          <Field label={`To (${zoneLabel(until || Date.now())})`}>
            <input type="datetime-local" name="until" value={toLocalInput(until)} onChange={(e) => setF("until", fromLocalInput(e.currentTarget.value) ?? "")} />
          </Field>
        </div>
      </header>
      {reports.error && <ErrorBox error={reports.error} retry={() => void reports.reload()} />}
      {reports.data === undefined ? (
        !reports.error && <Loading what="Loading reports" />
      ) : list.length === 0 ? (
        <Empty>No reports {status && status !== "all" ? `with status “${status}”` : ""}.</Empty>
      ) : (
        <table class="grid" data-testid="reports-table">
          <thead>
            <tr>
              <th>Photo</th>
              <th>Received</th>
              <th>Category</th>
              <th>Description</th>
              <th>Where</th>
              <th>When</th>
              <th>Contact</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((r, i) => {
              const src = photoOf(r);
              return (
                <tr key={String(r.id)} data-report-id={String(r.id)} class={i === cursor ? "cursor" : ""} onClick={() => setCursor(i)}>
                  <td class="thumb-cell">
                    {src ? (
                      <button type="button" class="thumb" onClick={() => setPhoto(src)} aria-label="Enlarge photo">
                        <img src={src} alt="" loading="lazy" />
                      </button>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                  <td class="mono" title={fmtDateTime(r.created_at)}>
                    {ago(r.created_at, now)}
                  </td>
                  <td>{humanize(r.category)}</td>
                  <td class="desc">{r.description}</td>
                  <td class="mono small">
                    {r.camera_id ? cameraName(cams.data, r.camera_id) : r.lat !== null && r.lat !== undefined ? `${r.lat.toFixed(5)}, ${r.lon?.toFixed(5)}` : "—"}
                  </td>
                  <td class="mono small">{fmtDateTime(r.observed_at)}</td>
                  <td class="small">{r.contact ?? "—"}</td>
                  <td>
                    <Badge kind={r.status ?? "new"}>{r.status ?? "new"}</Badge>
                    {r.incident_id && (
                      <>
                        {" "}
                        <Link href={`/incidents/${r.incident_id}`}>#{r.incident_id}</Link>
                      </>
                    )}
                  </td>
                  <td class="row-actions">
                    {(r.status ?? "new") === "new" && (
                      <>
                        <button type="button" class="btn btn-sm btn-ghost" onClick={() => void triage(r, "dismiss")} title="D">
                          Dismiss
                        </button>
                        <button type="button" class="btn btn-sm btn-primary" onClick={() => void triage(r, "incident")} title="I">
                          Incident
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {photo && (
        <Modal title="Photo from the public" onClose={() => setPhoto(null)} wide>
          <img class="lightbox" src={photo} alt="Reported photo" />
        </Modal>
      )}
    </div>
  );
}
