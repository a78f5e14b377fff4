// Alert rules (alert_rules:manage): which events raise alerts, at what severity, how repeats merge; switch
// a rule on or off, change its severity, add one. The API checks and names the field of an invalid value.
import { useState } from "preact/hooks";
import { get, patch, post } from "../api";
import { act, Badge, Field, Link, StateView } from "../components/ui";
import { EVENT_KINDS, SEVERITIES } from "../data";
import { humanize } from "../format";
import { useAsync } from "../hooks";
import { useSession } from "../session";

interface AlertRule {
  id: number;
  name: string;
  enabled: boolean;
  event_kinds: string[];
  camera_ids: string[] | null;
  zone_ids: string[] | null;
  line_ids: string[] | null;
  labels: string[] | null;
  severity: string;
  cooldown_s: number;
  updated_by: string;
}

const KINDS = [...EVENT_KINDS, "camera_dark"];

function ids(text: string): string[] | null {
  const list = text.split(",").map((s) => s.trim()).filter(Boolean);
  return list.length ? list : null;
}

function NewRule({ onSaved }: { onSaved: () => void }) {
  const [name, setName] = useState("");
  const [kinds, setKinds] = useState<string[]>(["crowding"]);
  const [severity, setSeverity] = useState("high");
  const [cooldown, setCooldown] = useState("300");
  const [cameras, setCameras] = useState("");
  const [zones, setZones] = useState("");
  const [lines, setLines] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    const body = { name: name.trim(), event_kinds: kinds, severity, cooldown_s: Number(cooldown), camera_ids: ids(cameras), zone_ids: ids(zones), line_ids: ids(lines) };
    if (await act("Create rule", () => post("/api/alert-rules", body), `Rule ${body.name} created`)) {
      setName("");
      onSaved();
    }
  };
  return (
    <form class="panel form rule-form" onSubmit={submit} aria-label="New alert rule">
      <Field label="Name">
        <input name="name" required maxLength={128} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      <Field label="Severity">
        <select name="severity" value={severity} onChange={(e) => setSeverity(e.currentTarget.value)}>
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Events" wide>
        <span class="checks">
          {KINDS.map((k) => (
            <label key={k} class="check">
              <input type="checkbox" name={`kind-${k}`} checked={kinds.includes(k)} onChange={(e) => setKinds((cur) => (e.currentTarget.checked ? [...cur, k] : cur.filter((x) => x !== k)))} />
              {humanize(k)}
            </label>
          ))}
        </span>
      </Field>
      <Field label="Merge repeats within (s)">
        <input name="cooldown_s" type="number" min={0} max={86400} value={cooldown} onInput={(e) => setCooldown(e.currentTarget.value)} />
      </Field>
      <Field label="Cameras" hint="ids, comma-separated; empty: any">
        <input name="camera_ids" value={cameras} onInput={(e) => setCameras(e.currentTarget.value)} />
      </Field>
      <Field label="Zones" hint="empty: any">
        <input name="zone_ids" value={zones} onInput={(e) => setZones(e.currentTarget.value)} />
      </Field>
      <Field label="Lines" hint="empty: any">
        <input name="line_ids" value={lines} onInput={(e) => setLines(e.currentTarget.value)} />
      </Field>
      <div class="wide">
        <button type="submit" class="btn btn-primary" disabled={!name.trim() || kinds.length === 0}>
          Add rule
        </button>
      </div>
    </form>
  );
}

export function AlertRulesPage() {
  const { can } = useSession();
  const rules = useAsync(() => get<AlertRule[]>("/api/alert-rules"), []);
  const manage = can("alert_rules:manage");
  const change = async (r: AlertRule, body: Partial<AlertRule>) => {
    if (await act("Update rule", () => patch(`/api/alert-rules/${r.id}`, body), `Rule ${r.name} updated`)) void rules.reload();
  };
  return (
    <div class="alert-rules-page">
      <header class="page-head">
        <div>
          <Link href="/alerts" class="muted">
            ← Alerts
          </Link>
          <h1>Alert rules</h1>
        </div>
      </header>
      <StateView async={rules} isEmpty={(l) => l.length === 0} empty="No alert rules: no event raises an alert." what="Loading rules">
        {(list) => (
          <table class="grid" data-testid="alert-rules">
            <thead>
              <tr>
                <th>On</th>
                <th>Name</th>
                <th>Events</th>
                <th>Where</th>
                <th>Severity</th>
                <th>Merge (s)</th>
                <th>By</th>
              </tr>
            </thead>
            <tbody>
              {list.map((r) => (
                <tr key={r.id} data-rule-id={String(r.id)}>
                  <td>
                    <input type="checkbox" aria-label={`Rule ${r.name} enabled`} checked={r.enabled} disabled={!manage} onChange={(e) => void change(r, { enabled: e.currentTarget.checked })} />
                  </td>
                  <td>{r.name}</td>
                  <td>{r.event_kinds.map(humanize).join(", ")}</td>
                  <td class="muted small">
                    {[r.camera_ids && `cameras ${r.camera_ids.join(", ")}`, r.zone_ids && `zones ${r.zone_ids.join(", ")}`, r.line_ids && `lines ${r.line_ids.join(", ")}`].filter(Boolean).join(" · ") || "anywhere"}
                  </td>
                  <td>
                    {manage ? (
                      <select aria-label={`Rule ${r.name} severity`} value={r.severity} onChange={(e) => void change(r, { severity: e.currentTarget.value })}>
                        {SEVERITIES.map((s) => (
                          <option key={s} value={s}>
                            {s}
                          </option>
                        ))}
                      </select>
                    ) : (
                      <Badge kind={r.severity}>{r.severity}</Badge>
                    )}
                  </td>
                  <td class="mono">{r.cooldown_s}</td>
                  <td class="muted small">{r.updated_by}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </StateView>
      {manage && (
        <>
          <h2>New rule</h2>
          <NewRule onSaved={() => void rules.reload()} />
        </>
      )}
    </div>
  );
}
