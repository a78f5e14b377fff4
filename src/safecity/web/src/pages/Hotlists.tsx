// Vehicle screens of the Watchlists area: the plate-hit confirmation queue (the plate crop next to the read
// text, two different people before anyone acts), vehicle hotlists and their authorizations. Every action
// and every view of a plate crop is audited by the server.
import { useState } from "preact/hooks";
import { act, Badge, Empty, ErrorBox, Field, Loading, Modal } from "../components/ui";
import type { Authorization } from "../biometrics";
import { type Hotlist, hot, type PlateHit, VEHICLE_PURPOSES } from "../hotlists";
import { fmtDateTime, fromLocalInput, humanize, toLocalInput } from "../format";
import { useAsync, useInterval } from "../hooks";
import { setQuery, useLocation } from "../router";
import { useLiveReload } from "./Incidents";
import { useAsk } from "./Biometrics";

export function PlateHits() {
  const loc = useLocation();
  const status = loc.query.get("status") ?? "pending";
  const list = useAsync(() => hot.hits(status), [status]);
  const [open, setOpen] = useState<number | null>(null);
  useLiveReload(() => void list.reload(), ["plate_hit"]);
  useInterval(() => void list.reload(), 15000);
  return (
    <section>
      <Field label="Status">
        <select name="status" value={status} onChange={(e) => setQuery({ status: e.currentTarget.value })}>
          {["pending", "confirmed", "dispatched", "rejected", ""].map((s) => <option key={s} value={s}>{s ? humanize(s) : "All"}</option>)}
        </select>
      </Field>
      {list.error && <ErrorBox error={list.error} retry={() => void list.reload()} />}
      {list.data === undefined ? !list.error && <Loading what="Loading plate hits" /> : list.data.length === 0 ? (
        <Empty>No {status || ""} plate hits.</Empty>
      ) : (
        <table class="grid" data-testid="plate-hits-table">
          <thead><tr><th>#</th><th>Seen</th><th>Camera</th><th>Read</th><th>Listed</th><th>Confidence</th><th>Hotlist</th><th>Status</th><th /></tr></thead>
          <tbody>
            {list.data.map((h) => (
              <tr key={h.id} data-hit-id={h.id}>
                <td class="mono">{h.id}</td>
                <td class="mono small">{fmtDateTime(h.seen_at)}</td>
                <td>{h.camera_id}</td>
                <td class="mono">{h.plate ?? "—"}</td>
                <td class="mono">{h.listed}{h.fuzzy && <> <Badge kind="high">look-alike</Badge></>}</td>
                <td class="mono">{h.confidence.toFixed(2)}</td>
                <td class="mono">{h.hotlist_id}</td>
                <td><Badge kind={h.status}>{h.status}</Badge></td>
                <td><button type="button" class="btn btn-sm" onClick={() => setOpen(h.id)}>Review</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open !== null && <HitReview id={open} onClose={() => { setOpen(null); void list.reload(); }} />}
    </section>
  );
}

function HitReview({ id, onClose }: { id: number; onClose: () => void }) {
  const h = useAsync(() => hot.hit(id), [id]);
  const [modal, ask] = useAsk();
  const decide = async (confirm: boolean) => {
    const note = await ask(confirm ? "Confirm: the read matches the plate" : "Reject: a misread", "Note (what you compared)", 1);
    if (note !== null && (await act("Review", () => hot.review(id, confirm, note), "Review recorded"))) void h.reload();
  };
  const dispatch = async () => {
    const note = await ask("Act on the confirmed hit", "What is done, by whom", 1);
    if (note !== null && (await act("Dispatch", () => hot.dispatch(id, note), "Recorded"))) void h.reload();
  };
  const hit: PlateHit | undefined = h.data;
  return (
    <Modal title={`Plate hit #${id}`} onClose={onClose} wide>
      {modal}
      {!hit ? <Loading /> : (
        <div class="match-review" data-testid="hit-review">
          <p>Camera <b>{hit.camera_id}</b>, {fmtDateTime(hit.seen_at)}, hotlist {hit.hotlist_id}. Status <Badge kind={hit.status}>{hit.status}</Badge></p>
          <div class="plate-compare">
            {hit.has_crop ? <img class="plate-crop" src={hot.cropUrl(id)} alt={`plate of hit ${id}`} /> : <span class="muted">no crop (rejected)</span>}
            <dl>
              <dt>Read</dt><dd class="mono plate-text" data-testid="hit-read">{hit.plate ?? "—"}</dd>
              <dt>Listed</dt><dd class="mono plate-text">{hit.listed}</dd>
              <dt>Confidence</dt><dd class="mono">{hit.confidence.toFixed(2)}{hit.fuzzy && <> · <Badge kind="high">look-alike match, check each character</Badge></>}</dd>
            </dl>
          </div>
          <p class="muted small">Compare the crop with the listed plate character by character: OCR misreads are the classic cause of wrongful stops.</p>
          <h3>Reviews</h3>
          {(hit.reviews ?? []).length === 0 ? <p class="muted">None yet. Acting on a hit needs two different reviewers to confirm it.</p> : (
            <ul>{hit.reviews?.map((r) => <li key={r.username}>{r.username}: <b>{r.decision}</b> {r.note && `— ${r.note}`} <span class="muted small">{fmtDateTime(r.at)}</span></li>)}</ul>
          )}
          <div class="row-actions">
            {hit.status === "pending" && <>
              <button type="button" class="btn btn-primary" onClick={() => void decide(true)}>Confirm</button>
              <button type="button" class="btn btn-danger" onClick={() => void decide(false)}>Reject (misread)</button>
            </>}
            {hit.status === "confirmed" && <button type="button" class="btn btn-primary" onClick={() => void dispatch()}>Dispatch</button>}
          </div>
        </div>
      )}
    </Modal>
  );
}

export function Hotlists() {
  const list = useAsync(() => hot.hotlists(), []);
  const auths = useAsync(() => hot.authorizations(), []);
  const [open, setOpen] = useState<number | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const cams = String(f.get("cameras") ?? "").split(",").map((c) => c.trim()).filter(Boolean);
    const ok = await act("Create", () => hot.create(String(f.get("name") ?? ""), cams, f.get("fuzzy") === "on"), "Hotlist created");
    if (ok) void list.reload();
  };
  return (
    <section>
      <form class="form-grid" onSubmit={(e) => void create(e)}>
        <Field label="Name"><input name="name" required /></Field>
        <Field label="Cameras (comma-separated)"><input name="cameras" required /></Field>
        <Field label="Look-alikes (O/0, I/1, B/8)"><input name="fuzzy" type="checkbox" /></Field>
        <button type="submit" class="btn btn-primary">New hotlist</button>
      </form>
      {list.error && <ErrorBox error={list.error} retry={() => void list.reload()} />}
      {list.data === undefined ? !list.error && <Loading /> : list.data.length === 0 ? <Empty>No vehicle hotlists.</Empty> : (
        <table class="grid" data-testid="hotlists-table">
          <thead><tr><th>Name</th><th>Cameras</th><th>Status</th><th>Authorization</th><th>Look-alikes</th><th /></tr></thead>
          <tbody>{list.data.map((h) => (
            <tr key={h.id}>
              <td>{h.name}</td><td class="small">{h.cameras.join(", ")}</td>
              <td><Badge kind={h.status}>{h.status}</Badge>{h.stop_reason && <span class="muted small"> {h.stop_reason}</span>}</td>
              <td class="mono">{h.authorization_id ?? "—"}</td><td>{h.fuzzy ? "yes" : "no"}</td>
              <td><button type="button" class="btn btn-sm" onClick={() => setOpen(h.id)}>Open</button></td>
            </tr>))}
          </tbody>
        </table>
      )}
      {open !== null && <HotlistDetail id={open} auths={auths.data ?? []} onClose={() => { setOpen(null); void list.reload(); }} />}
    </section>
  );
}

function HotlistDetail({ id, auths, onClose }: { id: number; auths: Authorization[]; onClose: () => void }) {
  const h = useAsync(() => hot.hotlist(id), [id]);
  const [modal, ask] = useAsk();
  const [authId, setAuthId] = useState("");
  const run = async (what: string, fn: () => Promise<unknown>) => {
    if (await act(what, fn, `${what}: done`)) void h.reload();
  };
  const addEntry = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const s = (k: string) => String(f.get(k) ?? "");
    const entry = { plate: s("plate"), label: s("label"), source: s("source"), expires_at: fromLocalInput(s("expires")) ?? "" };
    await run("Add plate", () => hot.addEntries(id, [entry]));
  };
  const list: Hotlist | undefined = h.data;
  return (
    <Modal title={list ? `Hotlist ${list.name}` : "Hotlist"} onClose={onClose} wide>
      {modal}
      {!list ? <Loading /> : (
        <div>
          <p>Status <Badge kind={list.status}>{list.status}</Badge> · cameras {list.cameras.join(", ")} · look-alikes {list.fuzzy ? "on" : "off"}{list.authorization_id && ` · authorization ${list.authorization_id}`}</p>
          <div class="row-actions">
            <select name="authorization" value={authId} onChange={(e) => setAuthId(e.currentTarget.value)}>
              <option value="">Authorization…</option>
              {auths.filter((a) => !a.revoked_at).map((a) => <option key={a.id} value={String(a.id)}>{a.reference} ({humanize(a.purpose)}, until {fmtDateTime(a.ends_at)})</option>)}
            </select>
            <button type="button" class="btn btn-primary" disabled={!authId} onClick={() => void run("Activate", () => hot.activate(id, Number(authId)))}>Activate</button>
            <button type="button" class="btn" onClick={() => void run("Look-alikes", () => hot.update(id, { fuzzy: !list.fuzzy }))}>{list.fuzzy ? "Exact only" : "Also look-alikes"}</button>
            <button type="button" class="btn" onClick={() => void (async () => {
              const t = await ask("Stop", "Reason");
              if (t !== null) await run("Stop", () => hot.stop(id, t));
            })()}>Stop</button>
          </div>
          <h3>Plates</h3>
          <table class="grid" data-testid="hotlist-entries"><thead><tr><th>Plate</th><th>Why</th><th>Source</th><th>Expires</th><th>Added by</th><th /></tr></thead>
            <tbody>{(list.entries ?? []).map((e) => (
              <tr key={e.id} class={e.removed_at ? "muted" : ""}>
                <td class="mono">{e.plate}</td><td>{e.label}</td><td class="small">{e.source}</td><td class="small">{fmtDateTime(e.expires_at)}</td><td class="small">{e.added_by}</td>
                <td>{e.removed_at ? `removed (${e.remove_reason})` : <button type="button" class="btn btn-sm" onClick={() => void (async () => {
                  const t = await ask("Remove plate", "Reason");
                  if (t !== null) await run("Remove plate", () => hot.removeEntry(e.id, t));
                })()}>Remove</button>}</td>
              </tr>))}
            </tbody>
          </table>
          <form class="form-grid" onSubmit={(e) => void addEntry(e)}>
            <h4>Add a plate</h4>
            <Field label="Plate"><input name="plate" required /></Field>
            <Field label="Why listed"><input name="label" required placeholder="stolen 2026-12-01, red Fiat Panda" /></Field>
            <Field label="Source"><input name="source" required placeholder="report / case number" /></Field>
            <Field label="Expires"><input name="expires" type="datetime-local" required value={toLocalInput(Date.now() + 30 * 86400000)} /></Field>
            <button type="submit" class="btn btn-primary">Add plate</button>
          </form>
        </div>
      )}
    </Modal>
  );
}

export function VehicleAuthorizations() {
  const list = useAsync(() => hot.authorizations(), []);
  const [modal, ask] = useAsk();
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const s = (k: string) => String(f.get(k) ?? "");
    const body = {
      issuer: s("issuer"), reference: s("reference"), purpose: s("purpose"), notes: s("notes"),
      cameras: s("cameras").split(",").map((c) => c.trim()).filter(Boolean),
      starts_at: fromLocalInput(s("starts")) ?? "", ends_at: fromLocalInput(s("ends")) ?? "",
    };
    if (await act("Record authorization", () => hot.createAuthorization(body), "Authorization recorded")) void list.reload();
  };
  const revoke = async (a: Authorization) => {
    const reason = await ask(`Revoke ${a.reference}`, "Reason");
    if (reason !== null && (await act("Revoke", () => hot.revoke(a.id, reason), "Revoked"))) void list.reload();
  };
  return (
    <section>
      {modal}
      <form class="form-grid" onSubmit={(e) => void submit(e)}>
        <Field label="Issuing authority"><input name="issuer" required /></Field>
        <Field label="Reference"><input name="reference" required /></Field>
        <Field label="Purpose"><select name="purpose">{VEHICLE_PURPOSES.map((p) => <option key={p} value={p}>{humanize(p)}</option>)}</select></Field>
        <Field label="Cameras (comma-separated)"><input name="cameras" required /></Field>
        <Field label="From"><input name="starts" type="datetime-local" required value={toLocalInput(Date.now())} /></Field>
        <Field label="Until"><input name="ends" type="datetime-local" required /></Field>
        <Field label="Notes" wide><input name="notes" /></Field>
        <button type="submit" class="btn btn-primary">Record authorization</button>
      </form>
      {list.error && <ErrorBox error={list.error} retry={() => void list.reload()} />}
      {list.data && (list.data.length === 0 ? <Empty>No vehicle authorizations.</Empty> : (
        <table class="grid" data-testid="vehicle-authorizations-table">
          <thead><tr><th>#</th><th>Reference</th><th>Issuer</th><th>Purpose</th><th>Cameras</th><th>Period</th><th>Recorded by</th><th /></tr></thead>
          <tbody>{list.data.map((a) => (
            <tr key={a.id} class={a.revoked_at ? "muted" : ""}>
              <td class="mono">{a.id}</td><td>{a.reference}</td><td>{a.issuer}</td><td>{humanize(a.purpose)}</td>
              <td class="small">{a.cameras.join(", ")}</td><td class="small">{fmtDateTime(a.starts_at)} – {fmtDateTime(a.ends_at)}</td><td class="small">{a.created_by}</td>
              <td>{a.revoked_at ? `revoked: ${a.revoke_reason}` : <button type="button" class="btn btn-sm" onClick={() => void revoke(a)}>Revoke</button>}</td>
            </tr>))}
          </tbody>
        </table>
      ))}
    </section>
  );
}
