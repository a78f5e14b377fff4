// An occupancy heatmap drawn over the camera's latest snapshot: one translucent cell per grid cell,
// stronger where more people stood. Suppressed cells (fewer than min_count) are not drawn at all.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Heatmap } from "../analytics";

const BLANK = { w: 400, h: 225 };

function color(t: number): string {
  // blue -> yellow -> red, alpha rising with density
  const r = Math.round(255 * Math.min(1, 2 * t));
  const g = Math.round(255 * Math.min(1, 2 * (1 - t)));
  return `rgba(${r},${g},${t < 0.2 ? 255 : 40},${0.25 + 0.5 * t})`;
}

export function HeatmapOverlay({ map, cameraId }: { map: Heatmap; cameraId: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  const [t] = useState(Date.now());
  useEffect(() => {
    const c = canvas.current;
    if (!c || !size) return;
    c.width = size.w;
    c.height = size.h;
    const ctx = c.getContext("2d")!;
    ctx.clearRect(0, 0, size.w, size.h);
    const cw = size.w / map.cols;
    const ch = size.h / map.rows;
    const top = map.max ?? 1;
    map.cells.forEach((v, i) => {
      if (v === null) return;
      ctx.fillStyle = color(Math.min(1, v / top));
      ctx.fillRect((i % map.cols) * cw, Math.floor(i / map.cols) * ch, cw, ch);
    });
  }, [map, size]);
  const [failed, setFailed] = useState(false);
  return (
    <div class="heatmap" data-heatmap={cameraId}>
      {failed ? (
        <div class="heatmap-blank" style={`width:${BLANK.w}px;height:${BLANK.h}px`}>
          no picture of this camera right now
        </div>
      ) : (
        <img
          src={`/api/cameras/${encodeURIComponent(cameraId)}/snapshot.jpg?t=${t}`}
          alt={`${cameraId} snapshot`}
          onLoad={(e) => setSize({ w: e.currentTarget.clientWidth, h: e.currentTarget.clientHeight })}
          onError={() => {
            setFailed(true);
            setSize(BLANK);
          }}
        />
      )}
      <canvas ref={canvas} />
      <div class="heatmap-legend muted small">
        {map.samples} samples{map.samples_withheld ? `, ${map.samples_withheld} withheld (fewer than ${map.min_count} people)` : ""}
        {map.max !== null ? ` · max ${map.max}` : ` · every cell below ${map.min_count}`}
      </div>
    </div>
  );
}
