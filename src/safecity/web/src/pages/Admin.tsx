// Administration: users (roles, camera access), cameras (add, edit, disable) and field units.
import { useState } from "preact/hooks";
import { get, items, patch, post } from "../api";
import { act, Badge, ErrorBox, Field, Link, Modal, StateView } from "../components/ui";
import { forgetCameras, unitName } from "../data";
import { humanize } from "../format";
import { useAsync } from "../hooks";
import { navigate, useLocation } from "../router";
import { useSession } from "../session";
import type { Camera, Unit, User } from "../types";

const ROLES = ["viewer", "operator", "supervisor", "investigator", "auditor", "admin", "field-unit"];

function splitList(s: string): string[] {
  return s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
}

// null: every camera; []: none; a list: those. "No cameras" must survive an edit of anything else.
type Access = "all" | "none" | "list";

function accessOf(cameras: string[] | null | undefined): Access {
  if (cameras == null) return "all";
  return cameras.length ? "list" : "none";
}

function camerasLabel(cameras: string[] | null | undefined): string {
  if (cameras == null) return "all";
  return cameras.length ? cameras.join(", ") : "none";
}

function UserForm({ user, onClose, onSaved }: { user: User | null; onClose: () => void; onSaved: () => void }) {
  const [username, setUsername] = useState(user?.username ?? "");
  const [password, setPassword] = useState("");
  const [roles, setRoles] = useState<string[]>(user?.roles ?? ["operator"]);
  const [displayName, setDisplayName] = useState(user?.display_name ?? "");
  const [access, setAccess] = useState<Access>(user ? accessOf(user.cameras) : "all");
  const [cameras, setCameras] = useState((user?.cameras ?? []).join(", "));
  const [disabled, setDisabled] = useState(user?.disabled ?? user?.active === false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const cams = splitList(cameras);
    if (access === "list" && !cams.length) {
      setError("Name at least one camera, or choose No cameras");
      return;
    }
    const camerasValue = access === "all" ? null : access === "none" ? [] : cams;
    const body: Record<string, unknown> = { roles, cameras: camerasValue, display_name: displayName.trim() };
    try {
      if (user) {
        body.disabled = disabled;
        if (password) body.password = password;
        await patch(`/api/users/${user.id}`, body);
      } else {
        await post("/api/users", { ...body, username, password });
      }
      onSaved();
      onClose();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <Modal title={user ? `Edit ${user.username}` : "New user"} onClose={onClose} footer={<button type="submit" form="user-form" class="btn btn-primary">Save</button>}>
      <form id="user-form" class="form" onSubmit={submit}>
        <Field label="Username">
          <input name="username" value={username} disabled={!!user} required onInput={(e) => setUsername(e.currentTarget.value)} />
        </Field>
        <Field label="Display name">
          <input name="display_name" value={displayName} maxLength={128} onInput={(e) => setDisplayName(e.currentTarget.value)} />
        </Field>
        <Field label={user ? "New password (blank: unchanged)" : "Password"} hint="at least 12 characters">
          <input name="password" type="password" autocomplete="new-password" value={password} required={!user} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
        <Field label="Roles" wide>
          <div class="checks">
            {ROLES.map((r) => (
              <label key={r} class="check">
                <input type="checkbox" checked={roles.includes(r)} onChange={(e) => setRoles(e.currentTarget.checked ? [...roles, r] : roles.filter((x) => x !== r))} />
                {r}
              </label>
            ))}
          </div>
        </Field>
        <Field label="Camera access" wide>
          <select name="camera_access" data-testid="camera-access" value={access} onChange={(e) => setAccess(e.currentTarget.value as Access)}>
            <option value="all">All cameras</option>
            <option value="none">No cameras</option>
            <option value="list">Only these cameras</option>
          </select>
        </Field>
        {access === "list" && (
          <Field label="Cameras" hint="camera ids, comma separated" wide>
            <input name="cameras" value={cameras} onInput={(e) => setCameras(e.currentTarget.value)} />
          </Field>
        )}
        {user && (
          <label class="check">
            <input type="checkbox" checked={disabled} onChange={(e) => setDisabled(e.currentTarget.checked)} /> Disabled (cannot log in)
          </label>
        )}
        {error && <ErrorBox error={error} />}
      </form>
    </Modal>
  );
}

function Users() {
  const users = useAsync(() => get<User[] | { items: User[] }>("/api/users").then(items), []);
  const [edit, setEdit] = useState<User | null | "new">(null);
  return (
    <section>
      <div class="bulkbar">
        <button type="button" class="btn btn-sm btn-primary" onClick={() => setEdit("new")}>
          New user
        </button>
      </div>
      <StateView async={users} isEmpty={(l) => !l.length} empty="No users." what="Loading users">
        {(list) => (
          <table class="grid" data-testid="users-table">
            <thead>
              <tr>
                <th>Username</th>
                <th>Roles</th>
                <th>Cameras</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((u) => (
                <tr key={String(u.id)} data-username={u.username}>
                  <td>{u.username}</td>
                  <td>{(u.roles ?? []).map((r) => <Badge key={r} kind="role">{r}</Badge>)}</td>
                  <td class="small" data-testid="user-cameras">{camerasLabel(u.cameras)}</td>
                  <td>{u.disabled || u.active === false ? <Badge kind="disabled">disabled</Badge> : <Badge kind="ok">active</Badge>}</td>
                  <td class="row-actions">
                    <button type="button" class="btn btn-sm" onClick={() => setEdit(u)}>
                      Edit
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </StateView>
      {edit && <UserForm user={edit === "new" ? null : edit} onClose={() => setEdit(null)} onSaved={() => void users.reload()} />}
    </section>
  );
}

function CameraForm({ cam, onClose, onSaved }: { cam: Camera | null; onClose: () => void; onSaved: () => void }) {
  const [f, setF] = useState({
    id: cam?.id ?? "",
    name: cam?.name ?? "",
    source: cam?.source ?? "",
    fps: String(cam?.fps ?? 5),
    lat: cam?.lat === null || cam?.lat === undefined ? "" : String(cam.lat),
    lon: cam?.lon === null || cam?.lon === undefined ? "" : String(cam.lon),
    enabled: cam?.enabled ?? true,
    loop: cam?.loop ?? false,
  });
  const [error, setError] = useState<string | null>(null);
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const body: Record<string, unknown> = {
      name: f.name,
      source: f.source,
      fps: f.fps === "" ? null : Number(f.fps),
      lat: f.lat === "" ? null : Number(f.lat),
      lon: f.lon === "" ? null : Number(f.lon),
      enabled: f.enabled,
      loop: f.loop,
    };
    try {
      if (cam) await patch(`/api/cameras/${encodeURIComponent(cam.id)}`, body);
      else await post("/api/cameras", { id: f.id, ...body });
      forgetCameras();
      onSaved();
      onClose();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <Modal title={cam ? `Edit camera ${cam.id}` : "New camera"} onClose={onClose} footer={<button type="submit" form="camera-form" class="btn btn-primary">Save</button>}>
      <form id="camera-form" class="form" onSubmit={submit}>
        <Field label="Id" hint="letters, digits, _ . -">
          <input name="id" value={f.id} disabled={!!cam} required pattern="[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}" onInput={set("id")} />
        </Field>
        <Field label="Name">
          <input name="name" value={f.name} onInput={set("name")} />
        </Field>
        <Field label="Source" hint="file path, rtsp://… or http(s):// MJPEG" wide>
          <input name="source" value={f.source} required onInput={set("source")} />
        </Field>
        <Field label="Analysis fps">
          <input name="fps" type="number" min={0.1} max={60} step="any" value={f.fps} onInput={set("fps")} />
        </Field>
        <Field label="Latitude">
          <input name="lat" type="number" step="any" min={-90} max={90} value={f.lat} onInput={set("lat")} />
        </Field>
        <Field label="Longitude">
          <input name="lon" type="number" step="any" min={-180} max={180} value={f.lon} onInput={set("lon")} />
        </Field>
        <label class="check">
          <input type="checkbox" name="enabled" checked={f.enabled} onChange={(e) => setF({ ...f, enabled: e.currentTarget.checked })} /> Enabled
        </label>
        <label class="check">
          <input type="checkbox" name="loop" checked={f.loop} onChange={(e) => setF({ ...f, loop: e.currentTarget.checked })} /> Loop a file source
        </label>
        {error && <ErrorBox error={error} />}
      </form>
    </Modal>
  );
}

function Cameras() {
  const loc = useLocation();
  const cams = useAsync(() => get<Camera[] | { items: Camera[] }>("/api/cameras").then(items), []);
  const editId = loc.query.get("edit");
  const [creating, setCreating] = useState(false);
  const editing = editId ? cams.data?.find((c) => c.id === editId) : undefined;
  const close = () => (setCreating(false), editId && navigate("/admin/cameras", true));
  return (
    <section>
      <div class="bulkbar">
        <button type="button" class="btn btn-sm btn-primary" onClick={() => setCreating(true)}>
          New camera
        </button>
      </div>
      <StateView async={cams} isEmpty={(l) => !l.length} empty="No cameras." what="Loading cameras">
        {(list) => (
          <table class="grid" data-testid="cameras-table">
            <thead>
              <tr>
                <th>Id</th>
                <th>Name</th>
                <th>Source</th>
                <th class="num">fps</th>
                <th>Rules</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((c) => (
                <tr key={c.id} data-camera-id={c.id}>
                  <td class="mono">
                    <Link href={`/cameras/${encodeURIComponent(c.id)}`}>{c.id}</Link>
                  </td>
                  <td>{c.name}</td>
                  <td class="mono small ellipsis">{c.source}</td>
                  <td class="num">{c.fps ?? "all"}</td>
                  <td class="small">
                    {(c.lines ?? []).length} lines, {(c.zones ?? []).length} zones{" "}
                    <Link href={`/cameras/${encodeURIComponent(c.id)}?tab=rules`}>edit</Link>
                  </td>
                  <td>{c.enabled === false ? <Badge kind="disabled">disabled</Badge> : <Badge kind="ok">enabled</Badge>}</td>
                  <td class="row-actions">
                    <button type="button" class="btn btn-sm" onClick={() => navigate(`/admin/cameras?edit=${encodeURIComponent(c.id)}`, true)}>
                      Edit
                    </button>
                    <button
                      type="button"
                      class="btn btn-sm btn-ghost"
                      onClick={() => void act(c.enabled === false ? "Enable" : "Disable", () => patch(`/api/cameras/${encodeURIComponent(c.id)}`, { enabled: c.enabled === false }), "Saved").then(() => cams.reload())}
                    >
                      {c.enabled === false ? "Enable" : "Disable"}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </StateView>
      {(creating || editing) && <CameraForm cam={creating ? null : editing!} onClose={close} onSaved={() => void cams.reload()} />}
    </section>
  );
}

const UNIT_KINDS = ["foot_patrol", "bike_patrol", "car", "motorcycle", "medical", "fire", "tourism_staff", "other"];

function Units() {
  const { can } = useSession();
  const units = useAsync(() => get<Unit[] | { items: Unit[] }>("/api/units").then(items), []);
  const users = useAsync(() => (can("users:manage") ? get<User[]>("/api/users") : Promise.resolve([] as User[])), []);
  const [callSign, setCallSign] = useState("");
  const [kind, setKind] = useState("foot_patrol");
  const [userId, setUserId] = useState("");
  const [error, setError] = useState<string | null>(null);
  const fieldUsers = (users.data ?? []).filter((u) => (u.roles ?? []).includes("field-unit"));
  const userName = (id: number | null | undefined) => (id ? ((users.data ?? []).find((u) => u.id === id)?.username ?? `user #${id}`) : "—");
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await post("/api/units", { call_sign: callSign.trim(), kind, ...(userId ? { user_id: Number(userId) } : {}) });
      setCallSign("");
      setUserId("");
      void units.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section>
      <form class="filters" onSubmit={create} aria-label="New field unit">
        <Field label="Call sign">
          <input name="call_sign" value={callSign} required placeholder="Foot-12" onInput={(e) => setCallSign(e.currentTarget.value)} />
        </Field>
        <Field label="Kind">
          <select name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            {UNIT_KINDS.map((k) => (
              <option key={k} value={k}>
                {humanize(k)}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Field-unit account">
          {users.data && users.data.length ? (
            <select name="user_id" value={userId} onChange={(e) => setUserId(e.currentTarget.value)}>
              <option value="">none</option>
              {fieldUsers.map((u) => (
                <option key={String(u.id)} value={String(u.id)}>
                  {u.username}
                </option>
              ))}
            </select>
          ) : (
            <input name="user_id" type="number" min={1} value={userId} placeholder="user id" onInput={(e) => setUserId(e.currentTarget.value)} />
          )}
        </Field>
        <div class="filter-actions">
          <button type="submit" class="btn btn-primary">
            Add unit
          </button>
        </div>
      </form>
      {error && <ErrorBox error={error} />}
      <StateView async={units} isEmpty={(l) => !l.length} empty="No field units." what="Loading units">
        {(list) => (
          <table class="grid" data-testid="units-table">
            <thead>
              <tr>
                <th>Call sign</th>
                <th>Kind</th>
                <th>Account</th>
                <th>Status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((u) => (
                <tr key={String(u.id)} data-unit-id={String(u.id)}>
                  <td>{unitName(u)}</td>
                  <td>{humanize(u.kind ?? "")}</td>
                  <td>{userName(u.user_id)}</td>
                  <td>
                    <Badge kind={u.status ?? "available"}>{humanize(u.status ?? "available")}</Badge>
                  </td>
                  <td class="row-actions">
                    {(u.status === "available" || u.status === "off_duty") && (
                      <button
                        type="button"
                        class="btn btn-sm"
                        onClick={() => {
                          const status = u.status === "available" ? "off_duty" : "available";
                          void act("Change status", () => patch(`/api/units/${u.id}`, { status }), `${unitName(u)}: ${humanize(status)}`).then(() => units.reload());
                        }}
                      >
                        {u.status === "available" ? "Set off duty" : "Set available"}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </StateView>
    </section>
  );
}

export function AdminPage({ path }: { path: string }) {
  const { can } = useSession();
  const tabs = [
    { id: "users", label: "Users", perm: "users:manage" },
    { id: "cameras", label: "Cameras", perm: "cameras:manage" },
    { id: "units", label: "Field units", perm: "units:manage" },
  ].filter((t) => can(t.perm));
  const current = tabs.find((t) => path === `/admin/${t.id}`) ?? tabs[0];
  if (!current) return <ErrorBox error="Your roles do not include any administration." />;
  return (
    <div class="admin-page">
      <header class="page-head">
        <h1>Administration</h1>
        <div class="tabs" role="tablist">
          {tabs.map((t) => (
            <Link key={t.id} href={`/admin/${t.id}`} class={t.id === current.id ? "on" : ""} role="tab" aria-selected={t.id === current.id}>
              {t.label}
            </Link>
          ))}
        </div>
      </header>
      {current.id === "users" && <Users />}
      {current.id === "cameras" && <Cameras />}
      {current.id === "units" && <Units />}
    </div>
  );
}
