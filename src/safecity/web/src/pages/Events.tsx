// Event search: filters in the URL (shareable), a paginated table with snapshot thumbnails, click to enlarge.
import { useState } from "preact/hooks";
import { get, mediaUrl } from "../api";
import { Empty, ErrorBox, Field, Loading, Modal } from "../components/ui";
import { cameraName, EVENT_KINDS, LABELS, useCameras } from "../data";
import { fmtDateTime, fromLocalInput, humanize, num, toLocalInput, zoneLabel } from "../format";
import { useAsync, useKeys } from "../hooks";
import { setQuery, useLocation } from "../router";
import { useSession } from "../session";
import type { Paged, SafeEvent } from "../types";
import { PlateReadSearch } from "./PlateReads";

const PAGE = 50;
const FILTERS = ["since", "until", "camera_id", "kind", "label", "line_id", "zone_id"] as const;

export function EventsPage() {
  const { can } = useSession();
  const loc = useLocation();
  const cams = useCameras();
  const q = Object.fromEntries(FILTERS.map((k) => [k, loc.query.get(k) ?? ""])) as Record<(typeof FILTERS)[number], string>;
  const offset = Number(loc.query.get("offset") ?? 0) || 0;
  const [draft, setDraft] = useState(q);
  const [cursor, setCursor] = useState(0);
  const [open, setOpen] = useState<SafeEvent | null>(null);
  const key = loc.query.toString();
  const ev = useAsync(async () => {
    const data = await get<Paged<SafeEvent> | SafeEvent[]>("/api/events", { ...q, limit: PAGE, offset });
    return Array.isArray(data) ? { items: data, total: offset + data.length } : data;
  }, [key]);

  const apply = (e?: Event) => {
    e?.preventDefault();
    setQuery({ ...draft, offset: null });
    setCursor(0);
  };
  const reset = () => {
    const empty = Object.fromEntries(FILTERS.map((k) => [k, ""])) as typeof q;
    setDraft(empty);
    setQuery({});
  };
  const page = (to: number) => setQuery({ ...q, offset: to || null });
  const list = ev.data?.items ?? [];
  const total = ev.data?.total ?? 0;

  useKeys(
    {
      j: () => setCursor((c) => Math.min(list.length - 1, c + 1)),
      k: () => setCursor((c) => Math.max(0, c - 1)),
      Enter: () => list[cursor]?.snapshot && setOpen(list[cursor]),
      ArrowRight: () => offset + PAGE < total && page(offset + PAGE),
      ArrowLeft: () => offset > 0 && page(Math.max(0, offset - PAGE)),
    },
    !open,
  );

  const set = (k: keyof typeof q) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });

  return (
    <div class="events-page">
      <header class="page-head">
        <h1>Event search</h1>
        <span class="muted">{ev.data ? `${total} events` : ""}</span>
      </header>
      <form class="filters" onSubmit={apply} aria-label="Filters">
        <Field label={`From (${zoneLabel(draft.since || Date.now())})`}>
          <input type="datetime-local" name="since" value={toLocalInput(draft.since)} onInput={(e) => setDraft({ ...draft, since: fromLocalInput(e.currentTarget.value) ?? "" })} />
        </Field>
        <Field label={`To (${zoneLabel(draft.until || Date.now())})`}>
          <input type="datetime-local" name="until" value={toLocalInput(draft.until)} onInput={(e) => setDraft({ ...draft, until: fromLocalInput(e.currentTarget.value) ?? "" })} />
        </Field>
        <Field label="Camera">
          <select name="camera_id" value={draft.camera_id} onChange={set("camera_id")}>
            <option value="">all</option>
            {(cams.data ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.name || c.id}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Kind">
          <select name="kind" value={draft.kind} onChange={set("kind")}>
            <option value="">all</option>
            {EVENT_KINDS.map((k) => (
              <option key={k} value={k}>
                {humanize(k)}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Label">
          <select name="label" value={draft.label} onChange={set("label")}>
            <option value="">all</option>
            {LABELS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Line">
          <input name="line_id" value={draft.line_id} placeholder="id" onInput={set("line_id")} size={10} />
        </Field>
        <Field label="Zone">
          <input name="zone_id" value={draft.zone_id} placeholder="id" onInput={set("zone_id")} size={10} />
        </Field>
        <div class="filter-actions">
          <button type="submit" class="btn btn-primary">
            Search
          </button>
          <button type="button" class="btn btn-ghost" onClick={reset}>
            Clear
          </button>
        </div>
      </form>
      {can("plates:search") && <PlateReadSearch cameraId={q.camera_id} />}
      {ev.error && <ErrorBox error={ev.error} retry={() => void ev.reload()} />}
      {ev.data === undefined && !ev.error ? (
        <Loading what="Searching" />
      ) : ev.data && list.length === 0 ? (
        <Empty>No events match these filters.</Empty>
      ) : (
        ev.data && (
          <>
            <table class="grid" data-testid="events-table">
              <thead>
                <tr>
                  <th>Snapshot</th>
                  <th>Time</th>
                  <th>Camera</th>
                  <th>Kind</th>
                  <th>Label</th>
                  <th>Track</th>
                  <th>Line / zone</th>
                  <th>Direction</th>
                  <th class="num">Count</th>
                  <th class="num">Score</th>
                </tr>
              </thead>
              <tbody class={ev.loading ? "stale" : ""}>
                {list.map((e, i) => {
                  const src = can("media:read") ? mediaUrl(e.snapshot_url ?? e.snapshot) : null;
                  return (
                    <tr key={e.id} class={i === cursor ? "cursor" : ""} onClick={() => setCursor(i)}>
                      <td class="thumb-cell">
                        {src ? (
                          <button type="button" class="thumb" onClick={() => setOpen(e)} aria-label="Enlarge snapshot">
                            <img src={src} alt="" loading="lazy" />
                          </button>
                        ) : (
                          <span class="muted">—</span>
                        )}
                      </td>
                      <td class="mono">{fmtDateTime(e.start)}</td>
                      <td>{cameraName(cams.data, e.camera_id)}</td>
                      <td>{humanize(e.kind)}</td>
                      <td>{e.label ?? "—"}</td>
                      <td class="mono">{e.track_id ?? "—"}</td>
                      <td>{e.line_id ?? e.zone_id ?? "—"}</td>
                      <td>{e.direction ?? "—"}</td>
                      <td class="num">{e.count ?? "—"}</td>
                      <td class="num">{num(e.score, 2)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <nav class="pager" aria-label="Pages">
              <button type="button" class="btn btn-sm" disabled={offset === 0} onClick={() => page(Math.max(0, offset - PAGE))}>
                ← Newer
              </button>
              <span class="muted">
                {offset + 1}–{offset + list.length} of {total}
              </span>
              <button type="button" class="btn btn-sm" disabled={offset + PAGE >= total} onClick={() => page(offset + PAGE)}>
                Older →
              </button>
            </nav>
          </>
        )
      )}
      {open && (
        <Modal title={`${humanize(open.kind)} · ${cameraName(cams.data, open.camera_id)} · ${fmtDateTime(open.start)}`} onClose={() => setOpen(null)} wide>
          <img class="lightbox" src={mediaUrl(open.snapshot_url ?? open.snapshot)!} alt="Event snapshot" />
          <p class="muted mono small">
            event {open.id} · track {open.track_id ?? "—"} · {open.label ?? ""} {open.direction ?? ""}
          </p>
        </Modal>
      )}
    </div>
  );
}
