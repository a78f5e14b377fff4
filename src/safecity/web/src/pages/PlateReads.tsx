// Plate reads in the event search, for users with plates:search: exact or fuzzy, with a reason that the
// server writes to the audit log with every search. Non-hit reads exist only for the retention period.
import { useState } from "preact/hooks";
import { act, Empty, Field } from "../components/ui";
import { hot, type PlateRead } from "../hotlists";
import { fmtDateTime } from "../format";

export function PlateReadSearch({ cameraId }: { cameraId?: string }) {
  const [found, setFound] = useState<{ plate: string; items: PlateRead[] } | null>(null);
  const search = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const q = { plate: String(f.get("plate") ?? ""), reason: String(f.get("reason") ?? ""), fuzzy: f.get("fuzzy") === "on", camera_id: cameraId };
    let page: { plate: string; items: PlateRead[] } | null = null;
    if (await act("Plate search", async () => { page = await hot.reads(q); })) setFound(page);
  };
  return (
    <section class="plate-search" data-testid="plate-search">
      <h2>Plate reads</h2>
      <form class="filters" onSubmit={(e) => void search(e)} aria-label="Plate search">
        <Field label="Plate"><input name="plate" required size={10} /></Field>
        <Field label="Look-alikes / one character off"><input name="fuzzy" type="checkbox" /></Field>
        <Field label="Reason (case number; audited)"><input name="reason" required minLength={3} size={24} /></Field>
        <div class="filter-actions"><button type="submit" class="btn btn-primary">Search plates</button></div>
      </form>
      {found && (found.items.length === 0 ? <Empty>No stored read of {found.plate}.</Empty> : (
        <table class="grid" data-testid="plate-reads-table">
          <thead><tr><th>Time</th><th>Camera</th><th>Plate</th><th>Confidence</th><th>Country</th><th>Direction</th><th>Track</th></tr></thead>
          <tbody>{found.items.map((r) => (
            <tr key={r.id}><td class="mono">{fmtDateTime(r.seen_at)}</td><td>{r.camera_id}</td><td class="mono">{r.plate}</td>
              <td class="num">{r.confidence.toFixed(2)}</td><td>{r.country}</td><td>{r.direction || "—"}</td><td class="mono">{r.track_id}</td></tr>))}
          </tbody>
        </table>
      ))}
    </section>
  );
}
