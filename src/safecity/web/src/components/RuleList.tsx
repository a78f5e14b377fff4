// The side panel of the rule editor: every line and zone with its names, classes and thresholds.
import type { LineRule, ZoneRule } from "../types";
import type { Selection } from "./RuleEditor";

const ID_PATTERN = "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}";

function Classes(props: { value: string[] | null | undefined; labels: string[]; disabled: boolean; onChange: (v: string[] | null) => void }) {
  const v = props.value ?? [];
  return (
    <div class="checks" role="group" aria-label="Classes">
      {props.labels.map((l) => (
        <label key={l} class="check">
          <input
            type="checkbox"
            disabled={props.disabled}
            checked={v.includes(l)}
            onChange={(e) => {
              const next = e.currentTarget.checked ? [...v, l] : v.filter((x) => x !== l);
              props.onChange(next.length ? next : null);
            }}
          />
          {l}
        </label>
      ))}
      <span class="muted small">{v.length ? "" : "none ticked: the camera's classes"}</span>
    </div>
  );
}

const numOr = (s: string, fallback: number) => (s === "" || Number.isNaN(Number(s)) ? fallback : Number(s));

export function RuleList(props: {
  lines: LineRule[];
  zones: ZoneRule[];
  sel: Selection;
  canEdit: boolean;
  labels: string[];
  onSelect: (s: Selection) => void;
  onLines: (ls: LineRule[]) => void;
  onZones: (zs: ZoneRule[]) => void;
  onRemove: () => void;
}) {
  const ro = !props.canEdit;
  const setLine = (i: number, patch: Partial<LineRule>) => props.onLines(props.lines.map((l, j) => (j === i ? { ...l, ...patch } : l)));
  const setZone = (i: number, patch: Partial<ZoneRule>) => props.onZones(props.zones.map((z, j) => (j === i ? { ...z, ...patch } : z)));
  return (
    <aside class="rule-list" aria-label="Rules">
      <h3>Counting lines ({props.lines.length})</h3>
      {props.lines.length === 0 && <p class="muted small">None. {props.canEdit && "Draw one: “Draw line”, then two clicks."}</p>}
      {props.lines.map((l, i) => {
        const on = props.sel?.kind === "line" && props.sel.i === i;
        return (
          <div key={`l${i}`} class={`rule-item ${on ? "sel" : ""}`} data-rule-id={l.id}>
            <button type="button" class="rule-head" onClick={() => props.onSelect(on ? null : { kind: "line", i })}>
              <span class="rule-swatch line" /> {l.name || l.id} <small>{l.id}</small>
            </button>
            {on && (
              <div class="rule-form">
                <label class="field">
                  <span class="field-label">Id</span>
                  <input value={l.id} pattern={ID_PATTERN} required disabled={ro} name="line-id" onInput={(e) => setLine(i, { id: e.currentTarget.value })} />
                </label>
                <label class="field">
                  <span class="field-label">Name</span>
                  <input value={l.name ?? ""} disabled={ro} name="line-name" onInput={(e) => setLine(i, { name: e.currentTarget.value })} />
                </label>
                <div class="row2">
                  <label class="field">
                    <span class="field-label">“In” direction (arrow)</span>
                    <input value={l.in_name ?? ""} disabled={ro} name="line-in" onInput={(e) => setLine(i, { in_name: e.currentTarget.value })} />
                  </label>
                  <label class="field">
                    <span class="field-label">“Out” direction</span>
                    <input value={l.out_name ?? ""} disabled={ro} name="line-out" onInput={(e) => setLine(i, { out_name: e.currentTarget.value })} />
                  </label>
                </div>
                {props.canEdit && (
                  <button type="button" class="btn btn-sm btn-ghost" onClick={() => setLine(i, { start: l.end, end: l.start })}>
                    Swap directions
                  </button>
                )}
                <Classes value={l.classes} labels={props.labels} disabled={ro} onChange={(v) => setLine(i, { classes: v })} />
                <div class="muted small mono">
                  ({l.start.join(", ")}) → ({l.end.join(", ")})
                </div>
                {props.canEdit && (
                  <button type="button" class="btn btn-sm btn-danger" onClick={props.onRemove}>
                    Delete line
                  </button>
                )}
              </div>
            )}
          </div>
        );
      })}
      <h3>Zones ({props.zones.length})</h3>
      {props.zones.length === 0 && <p class="muted small">None. {props.canEdit && "Draw one: “Draw zone”, click the corners, Enter."}</p>}
      {props.zones.map((z, i) => {
        const on = props.sel?.kind === "zone" && props.sel.i === i;
        return (
          <div key={`z${i}`} class={`rule-item ${on ? "sel" : ""}`} data-rule-id={z.id}>
            <button type="button" class="rule-head" onClick={() => props.onSelect(on ? null : { kind: "zone", i })}>
              <span class="rule-swatch zone" /> {z.name || z.id} <small>{z.id}</small>
              {z.crowding && <span class="tag">crowd ≥{z.crowding.threshold}</span>}
              {z.loitering && <span class="tag">loiter {z.loitering.after_s}s</span>}
            </button>
            {on && (
              <div class="rule-form">
                <label class="field">
                  <span class="field-label">Id</span>
                  <input value={z.id} pattern={ID_PATTERN} required disabled={ro} name="zone-id" onInput={(e) => setZone(i, { id: e.currentTarget.value })} />
                </label>
                <label class="field">
                  <span class="field-label">Name</span>
                  <input value={z.name ?? ""} disabled={ro} name="zone-name" onInput={(e) => setZone(i, { name: e.currentTarget.value })} />
                </label>
                <Classes value={z.classes} labels={props.labels} disabled={ro} onChange={(v) => setZone(i, { classes: v })} />
                <fieldset class="sub">
                  <legend>
                    <label class="check">
                      <input
                        type="checkbox"
                        disabled={ro}
                        name="crowding-on"
                        checked={!!z.crowding}
                        onChange={(e) => setZone(i, { crowding: e.currentTarget.checked ? { threshold: 10, min_duration_s: 2 } : null })}
                      />
                      Crowding
                    </label>
                  </legend>
                  {z.crowding && (
                    <div class="row2">
                      <label class="field">
                        <span class="field-label">At or above (objects)</span>
                        <input type="number" min={1} step={1} disabled={ro} name="crowding-threshold" value={z.crowding.threshold}
                          onInput={(e) => setZone(i, { crowding: { ...z.crowding!, threshold: numOr(e.currentTarget.value, 1) } })} />
                      </label>
                      <label class="field">
                        <span class="field-label">For (s)</span>
                        <input type="number" min={0} step={0.5} disabled={ro} name="crowding-duration" value={z.crowding.min_duration_s}
                          onInput={(e) => setZone(i, { crowding: { ...z.crowding!, min_duration_s: numOr(e.currentTarget.value, 0) } })} />
                      </label>
                    </div>
                  )}
                </fieldset>
                <fieldset class="sub">
                  <legend>
                    <label class="check">
                      <input type="checkbox" disabled={ro} name="loitering-on" checked={!!z.loitering}
                        onChange={(e) => setZone(i, { loitering: e.currentTarget.checked ? { after_s: 60 } : null })} />
                      Loitering
                    </label>
                  </legend>
                  {z.loitering && (
                    <label class="field">
                      <span class="field-label">After (s) inside</span>
                      <input type="number" min={1} step={1} disabled={ro} name="loitering-after" value={z.loitering.after_s}
                        onInput={(e) => setZone(i, { loitering: { after_s: numOr(e.currentTarget.value, 1) } })} />
                    </label>
                  )}
                </fieldset>
                <label class="check">
                  <input type="checkbox" disabled={ro} checked={!!(z as { enter_exit_events?: boolean }).enter_exit_events}
                    onChange={(e) => setZone(i, { enter_exit_events: e.currentTarget.checked } as Partial<ZoneRule>)} />
                  Per-track enter / exit events
                </label>
                <div class="muted small">{z.polygon.length} corners</div>
                {props.canEdit && (
                  <button type="button" class="btn btn-sm btn-danger" onClick={props.onRemove}>
                    Delete zone
                  </button>
                )}
              </div>
            )}
          </div>
        );
      })}
    </aside>
  );
}
