// Alerts as the screens see them: a list loaded from the API and kept current by the live channel.
import { useRef, useState } from "preact/hooks";
import { get, items, post, type Query } from "./api";
import { SEVERITY_RANK } from "./data";
import { humanize } from "./format";
import { useAsync, useInterval } from "./hooks";
import { useLive } from "./live";
import type { Alert } from "./types";

export function alertTitle(a: Alert): string {
  if (a.title) return a.title;
  const where = a.zone_id ? ` in ${a.zone_id}` : a.line_id ? ` at ${a.line_id}` : "";
  return `${humanize(a.kind ?? "alert")}${where}`;
}

export function alertTime(a: Alert): string | undefined {
  return a.last_seen ?? a.updated_at ?? a.created_at;
}

export function isOpen(a: Alert): boolean {
  return a.status !== "closed" && a.status !== "resolved";
}

function passes(a: Alert, filter: Query): boolean {
  if (filter.status && filter.status !== "active" && filter.status !== "all" && a.status !== filter.status) return false;
  if (filter.status === "active" && !isOpen(a)) return false;
  if (filter.severity && a.severity !== filter.severity) return false;
  if (filter.camera_id && a.camera_id !== filter.camera_id) return false;
  // a period: alerts active at some time in it (as the API filters)
  const t = (v: unknown) => Date.parse(String(v ?? ""));
  if (filter.since && t(a.last_seen ?? a.created_at) < t(filter.since)) return false;
  if (filter.until && t(a.first_seen ?? a.created_at) > t(filter.until)) return false;
  return true;
}

export function sortAlerts(list: Alert[]): Alert[] {
  return [...list].sort((x, y) => {
    const ox = isOpen(x) ? 0 : 1;
    const oy = isOpen(y) ? 0 : 1;
    if (ox !== oy) return ox - oy;
    const t = String(alertTime(y) ?? "").localeCompare(String(alertTime(x) ?? ""));
    if (t !== 0) return t;
    return (SEVERITY_RANK[x.severity] ?? 9) - (SEVERITY_RANK[y.severity] ?? 9);
  });
}

const ACTIVE = ["open", "acknowledged", "assigned"];
const PAGE = 200;

/** "active" (not closed) and "all" are the UI's: the API filters on one status or none. */
async function loadAlerts(filter: Query): Promise<Alert[]> {
  const fetchOne = (status?: string) =>
    get<Alert[] | { items: Alert[] }>("/api/alerts", { ...filter, status, limit: PAGE }).then(items);
  if (filter.status === "active") return (await Promise.all(ACTIVE.map(fetchOne))).flat();
  return fetchOne(filter.status === "all" || !filter.status ? undefined : String(filter.status));
}

/**
 * The alerts matching `filter` ("active" = not closed, done here since the API filters one status),
 * merged with live `alert` / `alert_update` messages; `fresh` holds ids that arrived live recently.
 */
export function useAlerts(filter: Query) {
  const key = JSON.stringify(filter);
  const a = useAsync(() => loadAlerts(filter), [key]);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const freshTimers = useRef(new Map<string, number>());

  useLive(["alert", "alert_update"], (msg) => {
    const incoming = msg.data as unknown as Alert;
    if (!incoming || incoming.id === undefined) return;
    const id = String(incoming.id);
    a.set((list) => {
      const cur = list ?? [];
      const idx = cur.findIndex((x) => String(x.id) === id);
      const merged = idx >= 0 ? { ...cur[idx], ...incoming } : incoming;
      const rest = idx >= 0 ? [...cur.slice(0, idx), ...cur.slice(idx + 1)] : cur;
      return passes(merged, filter) ? sortAlerts([merged, ...rest]) : rest;
    });
    const before = (a.data ?? []).find((x) => String(x.id) === id);
    const repeated = before !== undefined && (incoming.occurrences ?? 0) > (before.occurrences ?? 0);
    if (msg.type === "alert" || repeated) {
      setFresh((s) => new Set(s).add(id));
      window.clearTimeout(freshTimers.current.get(id));
      freshTimers.current.set(
        id,
        window.setTimeout(() => {
          setFresh((s) => {
            const n = new Set(s);
            n.delete(id);
            return n;
          });
        }, 6000),
      );
    }
  });
  // the live channel is the fast path; a slow poll repairs anything missed while it was reconnecting
  useInterval(() => void a.reload(), 30000);
  return { ...a, list: a.data ? sortAlerts(a.data) : undefined, fresh };
}

export const ackAlert = (id: Alert["id"]) => post<Alert>(`/api/alerts/${id}/ack`);
export const assignAlert = (id: Alert["id"], userId: string | number | null) =>
  post<Alert>(`/api/alerts/${id}/assign`, { user_id: userId });
export const closeAlert = (id: Alert["id"], note: string) => post<Alert>(`/api/alerts/${id}/close`, { note });
