// Rule editor: draw counting lines (two clicks) and zones (polygon clicks) on the camera snapshot,
// name the directions, set crowding and loitering thresholds, save with PATCH (no restart).
import { useEffect, useRef, useState } from "preact/hooks";
import { patch } from "../api";
import { LABELS } from "../data";
import { useKeys } from "../hooks";
import type { Camera, LineRule, Point, ZoneRule } from "../types";
import { ErrorBox, toast } from "./ui";
import { RuleList } from "./RuleList";

type Mode = "select" | "line" | "zone";
export type Selection = { kind: "line" | "zone"; i: number } | null;

const clone = <T,>(x: T): T => JSON.parse(JSON.stringify(x ?? null)) as T;
const round = (p: Point): Point => [Math.round(p[0]), Math.round(p[1])];

function nextId(prefix: string, taken: string[]): string {
  for (let i = 1; ; i++) if (!taken.includes(`${prefix}-${i}`)) return `${prefix}-${i}`;
}

/** Unit normal pointing to where "in" crossings go: the left of start->end as seen on the image. */
function inNormal(l: LineRule): Point {
  const dx = l.end[0] - l.start[0];
  const dy = l.end[1] - l.start[1];
  const len = Math.hypot(dx, dy) || 1;
  return [dy / len, -dx / len];
}

/** Text anchor that keeps a label on its side of the line, whichever way the normal points. */
function anchor(dx: number): "start" | "end" | "middle" {
  if (Math.abs(dx) < 0.3) return "middle";
  return dx > 0 ? "start" : "end";
}

export function RuleEditor({ camera, canEdit, onSaved }: { camera: Camera; canEdit: boolean; onSaved: (c: Camera) => void }) {
  const [lines, setLines] = useState<LineRule[]>(() => clone(camera.lines ?? []));
  const [zones, setZones] = useState<ZoneRule[]>(() => clone(camera.zones ?? []));
  const [mode, setMode] = useState<Mode>("select");
  const [draft, setDraft] = useState<Point[]>([]);
  const [hover, setHover] = useState<Point | null>(null);
  const [sel, setSel] = useState<Selection>(null);
  const [dirty, setDirty] = useState(false);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  const [snapT, setSnapT] = useState(Date.now());
  const [imgError, setImgError] = useState(false);
  const svg = useRef<SVGSVGElement>(null);
  const drag = useRef<{ kind: "line" | "zone"; i: number; p: number } | null>(null);

  useEffect(() => {
    if (dirty) return; // never overwrite unsaved drawing with a refresh
    setLines(clone(camera.lines ?? []));
    setZones(clone(camera.zones ?? []));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [camera]);

  const taken = () => [...lines.map((l) => l.id), ...zones.map((z) => z.id)];
  const r = size ? Math.max(size.w, size.h) / 120 : 5; // handle radius in image pixels

  const toImage = (e: MouseEvent): Point | null => {
    const s = svg.current;
    const ctm = s?.getScreenCTM();
    if (!s || !ctm || !size) return null;
    const pt = s.createSVGPoint();
    pt.x = e.clientX;
    pt.y = e.clientY;
    const p = pt.matrixTransform(ctm.inverse());
    return [Math.min(size.w, Math.max(0, p.x)), Math.min(size.h, Math.max(0, p.y))];
  };

  const changed = () => {
    setDirty(true);
    setError(null);
  };

  const finishZone = (pts: Point[]) => {
    if (pts.length < 3) {
      toast("A zone needs at least three points", "error");
      return;
    }
    const id = nextId("zone", taken());
    setZones((zs) => [...zs, { id, name: "", polygon: pts.map(round), classes: null, crowding: null, loitering: null }]);
    setSel({ kind: "zone", i: zones.length });
    setDraft([]);
    setMode("select");
    changed();
  };

  const onClick = (e: MouseEvent) => {
    if (!canEdit || mode === "select") return;
    const p = toImage(e);
    if (!p) return;
    if (mode === "line") {
      if (draft.length === 0) {
        setDraft([p]);
        return;
      }
      if (Math.hypot(p[0] - draft[0][0], p[1] - draft[0][1]) < 2) return;
      const id = nextId("line", taken());
      setLines((ls) => [...ls, { id, name: "", start: round(draft[0]), end: round(p), in_name: "in", out_name: "out", classes: null }]);
      setSel({ kind: "line", i: lines.length });
      setDraft([]);
      setMode("select");
      changed();
      return;
    }
    // zone: clicking near the first point closes the polygon
    if (draft.length >= 3 && Math.hypot(p[0] - draft[0][0], p[1] - draft[0][1]) < r * 2.5) {
      finishZone(draft);
      return;
    }
    setDraft((d) => [...d, p]);
  };

  const onMove = (e: MouseEvent) => {
    const p = toImage(e);
    if (drag.current && p) {
      const { kind, i, p: k } = drag.current;
      if (kind === "line") {
        setLines((ls) => ls.map((l, j) => (j !== i ? l : k === 0 ? { ...l, start: round(p) } : { ...l, end: round(p) })));
      } else {
        setZones((zs) => zs.map((z, j) => (j !== i ? z : { ...z, polygon: z.polygon.map((q, m) => (m === k ? round(p) : q)) })));
      }
      changed();
      return;
    }
    setHover(mode === "select" ? null : p);
  };

  const startMode = (m: Mode) => {
    if (!canEdit) return;
    setDraft([]);
    setMode(m);
    setSel(null);
  };

  const removeSelected = () => {
    if (!sel) return;
    if (sel.kind === "line") setLines((ls) => ls.filter((_, j) => j !== sel.i));
    else setZones((zs) => zs.filter((_, j) => j !== sel.i));
    setSel(null);
    changed();
  };

  const save = async () => {
    setSaving(true);
    setError(null);
    try {
      const updated = await patch<Camera>(`/api/cameras/${encodeURIComponent(camera.id)}`, { lines, zones });
      setDirty(false);
      toast("Rules saved — applied to the running camera", "ok");
      onSaved(updated && typeof updated === "object" && "id" in updated ? updated : { ...camera, lines, zones });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setSaving(false);
    }
  };

  const revert = () => {
    setLines(clone(camera.lines ?? []));
    setZones(clone(camera.zones ?? []));
    setDraft([]);
    setSel(null);
    setDirty(false);
    setError(null);
  };

  useKeys(
    {
      l: () => startMode("line"),
      z: () => startMode("zone"),
      Escape: () => {
        if (draft.length) setDraft([]);
        else if (mode !== "select") setMode("select");
        else setSel(null);
      },
      Enter: () => mode === "zone" && finishZone(draft),
      Delete: removeSelected,
      Backspace: () => (mode === "zone" && draft.length ? setDraft((d) => d.slice(0, -1)) : removeSelected()),
    },
    canEdit,
  );

  const previewPts = hover && draft.length ? [...draft, hover] : draft;
  const labelSize = size ? Math.max(size.w, size.h) / 55 : 12;

  return (
    <div class="rule-editor">
      <div class="rule-canvas-wrap">
        {canEdit && (
          <div class="toolbar" role="toolbar" aria-label="Drawing tools">
            <button type="button" class={`btn btn-sm ${mode === "select" ? "on" : ""}`} onClick={() => startMode("select")}>
              Select
            </button>
            <button type="button" class={`btn btn-sm ${mode === "line" ? "on" : ""}`} onClick={() => startMode("line")} title="l">
              Draw line
            </button>
            <button type="button" class={`btn btn-sm ${mode === "zone" ? "on" : ""}`} onClick={() => startMode("zone")} title="z">
              Draw zone
            </button>
            <button type="button" class="btn btn-sm btn-ghost" onClick={() => setSnapT(Date.now())}>
              New snapshot
            </button>
            <span class="toolbar-hint" data-testid="editor-hint">
              {mode === "line" && (draft.length ? "Click the line's end point (Esc cancels)" : "Click the line's start point")}
              {mode === "zone" && (draft.length >= 3 ? "Click the first point or press Enter to close the zone" : "Click the zone's corners")}
              {mode === "select" && "Drag a handle to move a point; Delete removes the selected rule"}
            </span>
            <span class="spacer" />
            <button type="button" class="btn btn-sm btn-ghost" disabled={!dirty || saving} onClick={revert}>
              Revert
            </button>
            <button type="button" class="btn btn-sm btn-primary" disabled={!dirty || saving} onClick={() => void save()}>
              {saving ? "Saving…" : dirty ? "Save rules" : "Saved"}
            </button>
          </div>
        )}
        {error && <ErrorBox error={`Not saved: ${error}`} />}
        <div class={`rule-canvas mode-${mode}`}>
          {imgError ? (
            <div class="live live-off">No snapshot yet — the camera has not delivered a frame.</div>
          ) : (
            <img
              src={`/api/cameras/${encodeURIComponent(camera.id)}/snapshot.jpg?t=${snapT}`}
              alt={`${camera.name || camera.id} snapshot`}
              onLoad={(e) => {
                const im = e.currentTarget;
                const w = Number(camera.width ?? 0) || im.naturalWidth;
                const h = Number(camera.height ?? 0) || im.naturalHeight;
                setSize({ w, h });
              }}
              onError={() => setImgError(true)}
              draggable={false}
            />
          )}
          {size && (
            <svg
              ref={svg}
              viewBox={`0 0 ${size.w} ${size.h}`}
              preserveAspectRatio="none"
              onClick={onClick}
              onMouseMove={onMove}
              onMouseUp={() => (drag.current = null)}
              onMouseLeave={() => {
                drag.current = null;
                setHover(null);
              }}
              data-testid="rule-canvas"
              data-width={size.w}
              data-height={size.h}
            >
              {zones.map((z, i) => {
                const on = sel?.kind === "zone" && sel.i === i;
                const c = z.polygon.reduce((a, p) => [a[0] + p[0] / z.polygon.length, a[1] + p[1] / z.polygon.length], [0, 0]);
                return (
                  <g key={`z${i}`} class={`rz ${on ? "sel" : ""}`} onMouseDown={() => mode === "select" && setSel({ kind: "zone", i })}>
                    <polygon points={z.polygon.map((p) => p.join(",")).join(" ")} />
                    <text x={c[0]} y={c[1]} font-size={labelSize}>
                      {z.name || z.id}
                    </text>
                    {on && canEdit &&
                      z.polygon.map((p, k) => (
                        <circle key={k} class="handle" cx={p[0]} cy={p[1]} r={r} onMouseDown={(e) => (e.stopPropagation(), (drag.current = { kind: "zone", i, p: k }))} />
                      ))}
                  </g>
                );
              })}
              {lines.map((l, i) => {
                const on = sel?.kind === "line" && sel.i === i;
                const n = inNormal(l);
                const m: Point = [(l.start[0] + l.end[0]) / 2, (l.start[1] + l.end[1]) / 2];
                const a = r * 6;
                return (
                  <g key={`l${i}`} class={`rl ${on ? "sel" : ""}`} onMouseDown={() => mode === "select" && setSel({ kind: "line", i })}>
                    <line class="hit" x1={l.start[0]} y1={l.start[1]} x2={l.end[0]} y2={l.end[1]} />
                    <line x1={l.start[0]} y1={l.start[1]} x2={l.end[0]} y2={l.end[1]} />
                    <line class="arrow-in" x1={m[0] - n[0] * a} y1={m[1] - n[1] * a} x2={m[0] + n[0] * a} y2={m[1] + n[1] * a} marker-end="url(#arrowhead)" />
                    <text x={m[0] + n[0] * a * 1.3} y={m[1] + n[1] * a * 1.3} font-size={labelSize} class="dir-in" text-anchor={anchor(n[0])} dominant-baseline="middle">
                      {l.in_name || "in"}
                    </text>
                    <text x={m[0] - n[0] * a * 1.3} y={m[1] - n[1] * a * 1.3} font-size={labelSize} class="dir-out" text-anchor={anchor(-n[0])} dominant-baseline="middle">
                      {l.out_name || "out"}
                    </text>
                    <text x={l.start[0] + r * 1.5} y={l.start[1] - r * 1.5} font-size={labelSize}>
                      {l.name || l.id}
                    </text>
                    {on && canEdit &&
                      [l.start, l.end].map((p, k) => (
                        <circle key={k} class="handle" cx={p[0]} cy={p[1]} r={r} onMouseDown={(e) => (e.stopPropagation(), (drag.current = { kind: "line", i, p: k }))} />
                      ))}
                  </g>
                );
              })}
              {previewPts.length > 0 && (
                <g class="draft">
                  {mode === "line" ? (
                    <line x1={previewPts[0][0]} y1={previewPts[0][1]} x2={previewPts[previewPts.length - 1][0]} y2={previewPts[previewPts.length - 1][1]} />
                  ) : (
                    <polyline points={previewPts.map((p) => p.join(",")).join(" ")} />
                  )}
                  {draft.map((p, k) => (
                    <circle key={k} cx={p[0]} cy={p[1]} r={r * (k === 0 && mode === "zone" && draft.length >= 3 ? 1.6 : 1)} />
                  ))}
                </g>
              )}
              <defs>
                <marker id="arrowhead" viewBox="0 0 10 10" refX="7" refY="5" markerUnits="userSpaceOnUse" markerWidth={r * 3} markerHeight={r * 3} orient="auto-start-reverse">
                  <path d="M 0 0 L 10 5 L 0 10 z" fill="#7CFC9A" />
                </marker>
              </defs>
            </svg>
          )}
        </div>
        <p class="muted small">
          Geometry is in source-frame pixels{size ? ` (${size.w}×${size.h})` : ""}. The green arrow shows the
          direction counted as “{"in"}” (from the right of start→end to its left, as drawn).
        </p>
      </div>
      <RuleList
        lines={lines}
        zones={zones}
        sel={sel}
        canEdit={canEdit}
        labels={LABELS}
        onSelect={setSel}
        onLines={(ls) => (setLines(ls), changed())}
        onZones={(zs) => (setZones(zs), changed())}
        onRemove={removeSelected}
      />
    </div>
  );
}
