// The Watchlists area, faces and vehicles: the face-match review queue and the plate-hit confirmation queue
// (both under the two-person rule), face watchlists, vehicle hotlists, their authorizations, and oversight
// (transparency report, audit log). Every action here is audited by the server.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { act, Badge, Empty, ErrorBox, Field, Link, Loading, Modal } from "../components/ui";
import { type Authorization, bio, type Match, PURPOSES, type Watchlist } from "../biometrics";
import { fmtDateTime, fromLocalInput, humanize, toLocalInput, zoneLabel } from "../format";
import { useAsync, useInterval } from "../hooks";
import { setQuery, useLocation } from "../router";
import { useSession } from "../session";
import { useLiveReload } from "./Incidents";
import { Hotlists, PlateHits, VehicleAuthorizations } from "./Hotlists";

const TABS = [
  { href: "/biometrics", label: "Face matches", perm: "biometrics:review" },
  { href: "/biometrics/plate-hits", label: "Plate hits", perm: "plates:review" },
  { href: "/biometrics/watchlists", label: "Face watchlists", perm: "watchlists:manage" },
  { href: "/biometrics/hotlists", label: "Vehicle hotlists", perm: "hotlists:manage" },
  { href: "/biometrics/authorizations", label: "Face authorizations", perm: "watchlists:manage" },
  { href: "/biometrics/vehicle-authorizations", label: "Vehicle authorizations", perm: "hotlists:manage" },
  { href: "/biometrics/oversight", label: "Oversight", perm: "transparency:read" },
];

/** A modal asking for one text (a reason, a note, a justification); resolves null when cancelled. */
export function useAsk(): [JSX.Element | null, (title: string, label: string, min?: number) => Promise<string | null>] {
  const [q, setQ] = useState<{ title: string; label: string; min: number; done: (v: string | null) => void } | null>(null);
  const [text, setText] = useState("");
  const ask = (title: string, label: string, min = 1) =>
    new Promise<string | null>((done) => {
      setText("");
      setQ({ title, label, min, done });
    });
  const close = (v: string | null) => {
    q?.done(v);
    setQ(null);
  };
  const el = q && (
    <Modal title={q.title} onClose={() => close(null)} footer={
      <button type="button" class="btn btn-primary" disabled={text.trim().length < q.min} onClick={() => close(text.trim())}>OK</button>
    }>
      <Field label={q.label} hint={q.min > 1 ? `at least ${q.min} characters` : undefined} wide>
        <textarea name="answer" rows={4} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </Field>
    </Modal>
  );
  return [el, ask];
}

export function BiometricsPage({ path }: { path: string }) {
  const { can } = useSession();
  const tabs = TABS.filter((t) => can(t.perm) || (t.perm === "transparency:read" && can("audit:read")));
  const asked = TABS.find((t) => t.href === path) ?? TABS[0];
  // "/biometrics" opens the first screen the user may see (an auditor: oversight)
  const tab = !tabs.includes(asked) && path === "/biometrics" && tabs.length ? tabs[0] : asked;
  const allowed = tabs.includes(tab);
  return (
    <div class="biometrics-page">
      <header class="page-head">
        <h1>Watchlists</h1>
        <nav class="tabs">
          {tabs.map((t) => <Link key={t.href} href={t.href} class={t === tab ? "active" : ""}>{t.label}</Link>)}
        </nav>
      </header>
      <p class="muted small">Faces and vehicles, only under a lawful authorization; every view and action is written to the audit log.</p>
      {!allowed ? <ErrorBox error={`Your roles do not allow this screen (needs ${tab.perm}).`} />
        : tab.href === "/biometrics" ? <ReviewQueue />
        : tab.href === "/biometrics/watchlists" ? <Watchlists />
        : tab.href === "/biometrics/authorizations" ? <Authorizations />
        : tab.href === "/biometrics/plate-hits" ? <PlateHits />
        : tab.href === "/biometrics/hotlists" ? <Hotlists />
        : tab.href === "/biometrics/vehicle-authorizations" ? <VehicleAuthorizations />
        : <Oversight />}
    </div>
  );
}

function ReviewQueue() {
  const loc = useLocation();
  const status = loc.query.get("status") ?? "pending";
  const list = useAsync(() => bio.matches(status), [status]);
  const [open, setOpen] = useState<number | null>(null);
  useLiveReload(() => void list.reload(), ["face_match"]);
  useInterval(() => void list.reload(), 15000);
  return (
    <section>
      <Field label="Status">
        <select name="status" value={status} onChange={(e) => setQuery({ status: e.currentTarget.value })}>
          {["pending", "confirmed", "dispatched", "rejected", ""].map((s) => <option key={s} value={s}>{s ? humanize(s) : "All"}</option>)}
        </select>
      </Field>
      {list.error && <ErrorBox error={list.error} retry={() => void list.reload()} />}
      {list.data === undefined ? !list.error && <Loading what="Loading matches" /> : list.data.length === 0 ? (
        <Empty>No {status || ""} matches.</Empty>
      ) : (
        <table class="grid" data-testid="matches-table">
          <thead><tr><th>#</th><th>Seen</th><th>Camera</th><th>Watchlist</th><th>Score</th><th>Status</th><th /></tr></thead>
          <tbody>
            {list.data.map((m) => (
              <tr key={m.id} data-match-id={m.id}>
                <td class="mono">{m.id}</td>
                <td class="mono small">{fmtDateTime(m.seen_at)}</td>
                <td>{m.camera_id}</td>
                <td class="mono">{m.watchlist_id}</td>
                <td class="mono">{m.score.toFixed(2)} / {m.threshold.toFixed(2)}</td>
                <td><Badge kind={m.status}>{m.status}</Badge></td>
                <td><button type="button" class="btn btn-sm" onClick={() => setOpen(m.id)}>Review</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open !== null && <MatchReview id={open} onClose={() => { setOpen(null); void list.reload(); }} />}
    </section>
  );
}

function MatchReview({ id, onClose }: { id: number; onClose: () => void }) {
  const m = useAsync(() => bio.match(id), [id]);
  const [face, setFace] = useState(false);
  const [modal, ask] = useAsk();
  const decide = async (confirm: boolean) => {
    const note = await ask(confirm ? "Confirm the match" : "Reject: false match", "Note (what you compared)", 1);
    if (note !== null && (await act("Review", () => bio.reviewMatch(id, confirm, note), "Review recorded"))) void m.reload();
  };
  const dispatch = async () => {
    const note = await ask("Act on the confirmed match", "What is done, by whom", 1);
    if (note !== null && (await act("Dispatch", () => bio.dispatch(id, note), "Recorded"))) void m.reload();
  };
  const match: Match | undefined = m.data;
  return (
    <Modal title={`Match #${id}`} onClose={onClose} wide>
      {modal}
      {!match ? <Loading /> : (
        <div class="match-review">
          <p>Camera <b>{match.camera_id}</b>, {fmtDateTime(match.seen_at)}, score {match.score.toFixed(2)} (threshold {match.threshold.toFixed(2)}). Status <Badge kind={match.status}>{match.status}</Badge></p>
          {match.has_crop && (face ? <img class="face-crop" src={bio.cropUrl(id)} alt={`face of match ${id}`} />
            : <button type="button" class="btn" onClick={() => setFace(true)}>Show the face (the view is audited)</button>)}
          <h3>Reviews</h3>
          {(match.reviews ?? []).length === 0 ? <p class="muted">None yet. Acting on a match needs two different reviewers to confirm it.</p> : (
            <ul>{match.reviews?.map((r) => <li key={r.username}>{r.username}: <b>{r.decision}</b> {r.note && `— ${r.note}`} <span class="muted small">{fmtDateTime(r.at)}</span></li>)}</ul>
          )}
          <div class="row-actions">
            {match.status === "pending" && <>
              <button type="button" class="btn btn-primary" onClick={() => void decide(true)}>Confirm</button>
              <button type="button" class="btn btn-danger" onClick={() => void decide(false)}>Reject (false match)</button>
            </>}
            {match.status === "confirmed" && <button type="button" class="btn btn-primary" onClick={() => void dispatch()}>Dispatch</button>}
          </div>
        </div>
      )}
    </Modal>
  );
}

function Watchlists() {
  const list = useAsync(() => bio.watchlists(), []);
  const auths = useAsync(() => bio.authorizations(), []);
  const [open, setOpen] = useState<number | null>(null);
  const [modal, ask] = useAsk();
  const create = async () => {
    const name = await ask("New watchlist", "Name");
    const cams = name && (await ask("New watchlist", "Cameras (comma-separated ids)"));
    if (name && cams) {
      const ok = await act("Create", () => bio.createWatchlist(name, cams.split(",").map((c) => c.trim()).filter(Boolean), ""), "Watchlist created");
      if (ok) void list.reload();
    }
  };
  return (
    <section>
      {modal}
      <button type="button" class="btn btn-primary" onClick={() => void create()}>New watchlist</button>
      {list.error && <ErrorBox error={list.error} retry={() => void list.reload()} />}
      {list.data === undefined ? !list.error && <Loading /> : list.data.length === 0 ? <Empty>No watchlists.</Empty> : (
        <table class="grid" data-testid="watchlists-table">
          <thead><tr><th>Name</th><th>Cameras</th><th>Status</th><th>Authorization</th><th>Threshold</th><th>Reviewed</th><th /></tr></thead>
          <tbody>{list.data.map((w) => (
            <tr key={w.id}>
              <td>{w.name}</td><td class="small">{w.cameras.join(", ")}</td>
              <td><Badge kind={w.status}>{w.status}</Badge>{w.urgent_started_at && !w.authorization_id && <> <Badge kind="critical">urgent, no authorization</Badge></>}</td>
              <td class="mono">{w.authorization_id ?? "—"}</td><td class="mono">{w.threshold.toFixed(2)}</td>
              <td class="small">{w.reviewed_by ? `${w.reviewed_by}, ${fmtDateTime(w.reviewed_at)}` : "not since last change"}</td>
              <td><button type="button" class="btn btn-sm" onClick={() => setOpen(w.id)}>Open</button></td>
            </tr>))}
          </tbody>
        </table>
      )}
      {open !== null && <WatchlistDetail id={open} auths={auths.data ?? []} onClose={() => { setOpen(null); void list.reload(); }} />}
    </section>
  );
}

function WatchlistDetail({ id, auths, onClose }: { id: number; auths: Authorization[]; onClose: () => void }) {
  const w = useAsync(() => bio.watchlist(id), [id]);
  const [modal, ask] = useAsk();
  const [authId, setAuthId] = useState("");
  const run = async (what: string, fn: () => Promise<unknown>) => {
    if (await act(what, fn, `${what}: done`)) void w.reload();
  };
  const withText = async (what: string, label: string, fn: (t: string) => Promise<unknown>, min = 1) => {
    const t = await ask(what, label, min);
    if (t !== null) await run(what, () => fn(t));
  };
  const addEntry = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const when = fromLocalInput(String(form.get("expires_local") ?? ""));
    form.delete("expires_local");
    if (when) form.set("expires_at", when);
    await run("Add entry", () => bio.addEntry(id, form));
  };
  const wl: Watchlist | undefined = w.data;
  return (
    <Modal title={wl ? `Watchlist ${wl.name}` : "Watchlist"} onClose={onClose} wide>
      {modal}
      {!wl ? <Loading /> : (
        <div>
          <p>Status <Badge kind={wl.status}>{wl.status}</Badge> · cameras {wl.cameras.join(", ")} · threshold {wl.threshold.toFixed(2)} · last change by {wl.changed_by}</p>
          <div class="row-actions">
            <button type="button" class="btn" onClick={() => void withText("Review", "Review note (sources and legal bases checked)", (t) => bio.review(id, t))}>Review</button>
            <select name="authorization" value={authId} onChange={(e) => setAuthId(e.currentTarget.value)}>
              <option value="">Authorization…</option>
              {auths.filter((a) => !a.revoked_at).map((a) => <option key={a.id} value={String(a.id)}>{a.reference} ({humanize(a.purpose)})</option>)}
            </select>
            <button type="button" class="btn btn-primary" disabled={!authId} onClick={() => void run("Activate", () => bio.activate(id, Number(authId)))}>Activate</button>
            <button type="button" class="btn" disabled={!authId} onClick={() => void run("Attach authorization", () => bio.authorize(id, Number(authId)))}>Attach to urgent start</button>
            <button type="button" class="btn btn-danger" onClick={() => void withText("Urgent start", "Written justification (stopped and purged after 24 h without authorization)", (t) => bio.urgent(id, t), 40)}>Urgent start</button>
            <button type="button" class="btn" onClick={() => void withText("Stop", "Reason", (t) => bio.stop(id, t))}>Stop</button>
            <button type="button" class="btn" onClick={() => void (async () => {
              const v = await ask("Threshold", "New match threshold (0..1; below the validated minimum needs a second approver)");
              const r = v && (await ask("Threshold", "Reason"));
              if (v && r) await run("Threshold", () => bio.threshold(id, Number(v), r));
            })()}>Threshold</button>
          </div>
          <h3>Entries</h3>
          <table class="grid"><thead><tr><th>Who</th><th>Source</th><th>Legal basis</th><th>Expires</th><th /></tr></thead>
            <tbody>{(wl.entries ?? []).map((e) => (
              <tr key={e.id} class={e.removed_at ? "muted" : ""}>
                <td>{e.label}</td><td class="small">{e.source}</td><td class="small">{e.legal_basis}</td><td class="small">{fmtDateTime(e.expires_at)}</td>
                <td>{e.removed_at ? `removed (${e.remove_reason})` : <button type="button" class="btn btn-sm" onClick={() => void withText("Remove entry", "Reason", (t) => bio.removeEntry(e.id, t))}>Remove</button>}</td>
              </tr>))}
            </tbody>
          </table>
          <form class="form-grid" onSubmit={(e) => void addEntry(e)}>
            <h4>Add one person (one photo, exactly one face; the photo is not kept)</h4>
            <Field label="Who (label)"><input name="label" required /></Field>
            <Field label="Source"><input name="source" required /></Field>
            <Field label="Legal basis"><input name="legal_basis" required /></Field>
            <Field label={`Expires (${zoneLabel()})`}><input name="expires_local" type="datetime-local" required value={toLocalInput(Date.now() + 30 * 86400000)} /></Field>
            <Field label="Photo"><input name="photo" type="file" accept="image/jpeg,image/png" required /></Field>
            <button type="submit" class="btn btn-primary">Add entry</button>
          </form>
        </div>
      )}
    </Modal>
  );
}

function Authorizations() {
  const list = useAsync(() => bio.authorizations(), []);
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
    if (await act("Record authorization", () => bio.createAuthorization(body), "Authorization recorded")) void list.reload();
  };
  const revoke = async (a: Authorization) => {
    const reason = await ask(`Revoke ${a.reference}`, "Reason");
    if (reason !== null && (await act("Revoke", () => bio.revoke(a.id, reason), "Revoked"))) void list.reload();
  };
  return (
    <section>
      {modal}
      <form class="form-grid" onSubmit={(e) => void submit(e)}>
        <Field label="Issuing authority"><input name="issuer" required /></Field>
        <Field label="Reference"><input name="reference" required /></Field>
        <Field label="Purpose"><select name="purpose">{PURPOSES.map((p) => <option key={p} value={p}>{humanize(p)}</option>)}</select></Field>
        <Field label="Cameras (comma-separated)"><input name="cameras" required /></Field>
        <Field label={`From (${zoneLabel()})`}><input name="starts" type="datetime-local" required value={toLocalInput(Date.now())} /></Field>
        <Field label={`Until (${zoneLabel()})`}><input name="ends" type="datetime-local" required /></Field>
        <Field label="Notes" wide><input name="notes" /></Field>
        <button type="submit" class="btn btn-primary">Record authorization</button>
      </form>
      {list.error && <ErrorBox error={list.error} retry={() => void list.reload()} />}
      {list.data && (list.data.length === 0 ? <Empty>No authorizations.</Empty> : (
        <table class="grid" data-testid="authorizations-table">
          <thead><tr><th>#</th><th>Reference</th><th>Issuer</th><th>Purpose</th><th>Cameras</th><th>Period</th><th /></tr></thead>
          <tbody>{list.data.map((a) => (
            <tr key={a.id} class={a.revoked_at ? "muted" : ""}>
              <td class="mono">{a.id}</td><td>{a.reference}</td><td>{a.issuer}</td><td>{humanize(a.purpose)}</td>
              <td class="small">{a.cameras.join(", ")}</td><td class="small">{fmtDateTime(a.starts_at)} – {fmtDateTime(a.ends_at)}</td>
              <td>{a.revoked_at ? `revoked: ${a.revoke_reason}` : <button type="button" class="btn btn-sm" onClick={() => void revoke(a)}>Revoke</button>}</td>
            </tr>))}
          </tbody>
        </table>
      ))}
    </section>
  );
}

function Oversight() {
  const { can } = useSession();
  const report = useAsync(() => (can("transparency:read") ? bio.transparency() : Promise.resolve(null)), []);
  const [action, setAction] = useState("");
  const log = useAsync(() => (can("audit:read") ? bio.audit(action) : Promise.resolve(null)), [action]);
  const r = report.data;
  return (
    <section>
      {r && (
        <div data-testid="transparency">
          <h2>Transparency report (last 30 days) <a class="small" href="/api/biometrics/transparency.html" target="_blank" rel="noreferrer">HTML</a></h2>
          <p>Audit chain: {r.audit_chain.ok ? <Badge kind="ok">verified</Badge> : <Badge kind="critical">BROKEN: {r.audit_chain.problem}</Badge>} ({r.audit_chain.entries} entries)</p>
          <table class="grid"><tbody>
            {["faces_processed", "matches", "matches_confirmed", "matches_false", "matches_acted_on", "urgent_starts", "searches", "searches_refused", "unblurred_views", "exports"].map((k) => (
              <tr key={k}><th>{humanize(k)}</th><td class="mono">{String(r[k] ?? 0)}</td></tr>))}
            {Object.entries(r.deletions).map(([k, v]) => <tr key={k}><th>{humanize(k)}</th><td class="mono">{v}</td></tr>)}
          </tbody></table>
        </div>
      )}
      {log.data && (
        <div data-testid="audit-log">
          <h2>Audit log {log.data.chain.ok ? <Badge kind="ok">chain intact</Badge> : <Badge kind="critical">BROKEN at {log.data.chain.seq}: {log.data.chain.problem}</Badge>}</h2>
          <Field label="Action"><input name="action" value={action} placeholder="e.g. biometrics.match.review" onChange={(e) => setAction(e.currentTarget.value)} /></Field>
          <table class="grid"><thead><tr><th>#</th><th>When</th><th>Who</th><th>Action</th><th>Subject</th><th>Details</th></tr></thead>
            <tbody>{log.data.entries.map((e) => (
              <tr key={e.seq}><td class="mono">{e.seq}</td><td class="mono small">{fmtDateTime(e.at)}</td><td>{e.actor}</td><td class="mono small">{e.action}</td>
                <td class="mono small">{e.subject}</td><td class="small mono">{JSON.stringify(e.details)}</td></tr>))}
            </tbody>
          </table>
        </div>
      )}
      {(report.error || log.error) && <ErrorBox error={(report.error ?? log.error) as Error} />}
    </section>
  );
}
