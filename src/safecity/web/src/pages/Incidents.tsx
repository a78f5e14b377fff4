// Incident board: one column per status, cards kept current by the live channel.
import { useRef, useState } from "preact/hooks";
import { get, items } from "../api";
import { IncidentForm } from "../components/IncidentForm";
import { Badge, Link, StateView } from "../components/ui";
import { cameraName, useCameras } from "../data";
import { ago, humanize } from "../format";
import { useAsync, useInterval, useKeys, useNow } from "../hooks";
import { useLive } from "../live";
import { useSession } from "../session";
import type { Incident } from "../types";

export const STATUS_ORDER = ["new", "dispatched", "on_scene", "resolved", "closed"];
const DEFAULT_COLUMNS = STATUS_ORDER;

export function columnsFor(list: Incident[]): string[] {
  const seen = new Set(list.map((i) => i.status));
  const cols = new Set([...DEFAULT_COLUMNS, ...seen]);
  return [...cols].sort((a, b) => (STATUS_ORDER.indexOf(a) + 1 || 99) - (STATUS_ORDER.indexOf(b) + 1 || 99));
}

/** Reload on live incident/dispatch messages, at most every 300 ms. */
export function useLiveReload(reload: () => void, types = ["incident", "incident_update", "dispatch", "dispatch_update"], filter?: (d: Record<string, unknown>) => boolean): void {
  const t = useRef<number | undefined>(undefined);
  useLive(types, (msg) => {
    if (filter && !filter(msg.data)) return;
    window.clearTimeout(t.current);
    t.current = window.setTimeout(reload, 300);
  });
}

export function IncidentsPage() {
  const { can } = useSession();
  const cams = useCameras();
  const now = useNow(10000);
  const inc = useAsync(() => get<Incident[] | { items: Incident[] }>("/api/incidents", { limit: 200 }).then(items), []);
  const [creating, setCreating] = useState(false);
  useLiveReload(() => void inc.reload());
  useInterval(() => void inc.reload(), 30000);
  useKeys({ N: () => can("incidents:write") && setCreating(true) }, !creating);

  return (
    <div class="incidents-page">
      <header class="page-head">
        <h1>Incidents</h1>
        {can("incidents:write") && (
          <button type="button" class="btn btn-primary" onClick={() => setCreating(true)} title="N">
            New incident
          </button>
        )}
      </header>
      <StateView async={inc} what="Loading incidents">
        {(list) => (
          <div class="board" data-testid="incident-board">
            {columnsFor(list).map((status) => {
              const col = list
                .filter((i) => i.status === status)
                .sort((a, b) => String(b.updated_at ?? b.created_at).localeCompare(String(a.updated_at ?? a.created_at)));
              const shown = status === "closed" ? col.slice(0, 20) : col;
              return (
                <section key={status} class={`board-col col-${status}`} data-status={status} aria-label={humanize(status)}>
                  <header>
                    {humanize(status)} <span class="muted">{col.length}</span>
                  </header>
                  {shown.length === 0 && <div class="muted small board-empty">none</div>}
                  {shown.map((i) => (
                    <Link key={String(i.id)} href={`/incidents/${i.id}`} class={`card prio-${i.priority}`} data-incident-id={String(i.id)}>
                      <div class="card-title">
                        <span class="mono muted">#{i.id}</span> {i.title}
                      </div>
                      <div class="card-meta">
                        <Badge kind={String(i.priority)}>{String(i.priority)}</Badge>
                        <span>{humanize(i.type)}</span>
                        {i.camera_id && <span>{cameraName(cams.data, i.camera_id)}</span>}
                        <span class="muted">{ago(i.updated_at ?? i.created_at, now)}</span>
                      </div>
                    </Link>
                  ))}
                </section>
              );
            })}
          </div>
        )}
      </StateView>
      {creating && <IncidentForm onClose={() => setCreating(false)} onCreated={() => void inc.reload()} />}
    </div>
  );
}
