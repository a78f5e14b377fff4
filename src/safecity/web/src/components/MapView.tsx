// The map: labelled cameras, their zones, field units (status colour, stale after field.stale_after_s),
// incidents and report pins. With `map.tile_url` set it draws those XYZ tiles; without, it works offline:
// country outlines (Natural Earth via the world-atlas package, loaded on demand) over a coordinate grid.
// At low zoom nearby points merge into clusters (a click zooms in).
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Camera, Incident, Point } from "../types";
import { ago } from "../format";
import { addOutlines } from "./outlines";

export interface MapMarker {
  id: string;
  lat: number;
  lon: number;
  label: string;
  kind: "incident" | "report" | "pin" | "unit";
  severity?: string;
  status?: string;
  positionAt?: string;
  now?: number;
}

export const UNIT_COLOURS: Record<string, string> = {
  available: "#3ecf8e",
  dispatched: "#f5a623",
  en_route: "#3fa7ff",
  on_scene: "#b37feb",
  off_duty: "#5b6673",
};
const CLUSTER_BELOW_ZOOM = 15;
const CLUSTER_PX = 48;

export interface MapViewProps {
  cameras?: Camera[];
  incidents?: Incident[];
  markers?: MapMarker[];
  hotCameras?: Set<string>;
  tileUrl?: string | null;
  tileAttribution?: string | null;
  center?: Point | null;
  zoom?: number | null;
  onCameraClick?: (id: string) => void;
  onMapClick?: (lat: number, lon: number) => void;
  selectedCamera?: string | null;
  class?: string;
  staleAfterS?: number | null;
  maxZoom?: number | null;
}

const niceSteps = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 45];

function drawGrid(map: L.Map, layer: L.LayerGroup): void {
  layer.clearLayers();
  const b = map.getBounds();
  const span = Math.max(b.getNorth() - b.getSouth(), b.getEast() - b.getWest());
  const step = niceSteps.find((s) => span / s <= 12) ?? 45;
  const style = { color: "#2a3a4d", weight: 1, interactive: false };
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  for (let lat = Math.ceil(b.getSouth() / step) * step; lat <= b.getNorth(); lat += step) {
    L.polyline(
      [
        [lat, b.getWest() - span],
        [lat, b.getEast() + span],
      ],
      style,
    ).addTo(layer);
    L.marker([lat, b.getWest()], {
      interactive: false,
      icon: L.divIcon({ className: "grid-label", html: lat.toFixed(decimals), iconSize: [60, 12], iconAnchor: [-4, 14] }),
    }).addTo(layer);
  }
  for (let lon = Math.ceil(b.getWest() / step) * step; lon <= b.getEast(); lon += step) {
    L.polyline(
      [
        [b.getSouth() - span, lon],
        [b.getNorth() + span, lon],
      ],
      style,
    ).addTo(layer);
    L.marker([b.getSouth(), lon], {
      interactive: false,
      icon: L.divIcon({ className: "grid-label", html: lon.toFixed(decimals), iconSize: [60, 12], iconAnchor: [-2, 14] }),
    }).addTo(layer);
  }
}

function geoPolygon(zone: unknown): [number, number][] | null {
  const z = zone as { geo?: unknown; geo_polygon?: unknown };
  const g = (z.geo_polygon ?? z.geo) as unknown;
  if (Array.isArray(g) && g.length >= 3 && g.every((p) => Array.isArray(p) && p.length === 2)) {
    return g as [number, number][];
  }
  return null;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function cameraTooltip(c: Camera): string {
  const zones = (c.zones ?? []).map((z) => esc(z.name || z.id));
  const lines = (c.lines ?? []).map((l) => esc(l.name || l.id));
  return [
    `<b>${esc(c.name || c.id)}</b>`,
    c.enabled === false ? "<i>disabled</i>" : "",
    zones.length ? `zones: ${zones.join(", ")}` : "",
    lines.length ? `lines: ${lines.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("<br>");
}

interface Point2 {
  lat: number;
  lon: number;
  draw: (layer: L.LayerGroup) => void;
}

/** Points grouped by screen cell at low zoom: a cell with several points becomes one counted marker. */
function drawClustered(m: L.Map, layer: L.LayerGroup, points: Point2[]): void {
  if (m.getZoom() >= CLUSTER_BELOW_ZOOM || points.length < 2) {
    points.forEach((p) => p.draw(layer));
    return;
  }
  const cells = new Map<string, Point2[]>();
  for (const p of points) {
    const px = m.project([p.lat, p.lon], m.getZoom());
    const key = `${Math.floor(px.x / CLUSTER_PX)}:${Math.floor(px.y / CLUSTER_PX)}`;
    cells.set(key, [...(cells.get(key) ?? []), p]);
  }
  for (const group of cells.values()) {
    if (group.length === 1) {
      group[0].draw(layer);
      continue;
    }
    const bounds = L.latLngBounds(group.map((p) => [p.lat, p.lon] as L.LatLngTuple));
    L.marker(bounds.getCenter(), {
      icon: L.divIcon({ className: "map-cluster", html: String(group.length), iconSize: [30, 30], iconAnchor: [15, 15] }),
    })
      .addTo(layer)
      .on("click", (e) => {
        L.DomEvent.stopPropagation(e);
        m.fitBounds(bounds.pad(0.5), { maxZoom: CLUSTER_BELOW_ZOOM + 1 });
      });
  }
}

function unitIcon(mk: MapMarker, stale: boolean): L.DivIcon {
  const colour = stale ? "#5b6673" : (UNIT_COLOURS[mk.status ?? ""] ?? "#3ecf8e");
  return L.divIcon({
    className: `map-unit ${stale ? "map-unit-stale" : ""}`,
    html: `<span style="background:${colour}"></span>`,
    iconSize: [16, 16],
    iconAnchor: [8, 8],
  });
}

export function MapView(props: MapViewProps) {
  const el = useRef<HTMLDivElement>(null);
  const map = useRef<L.Map | null>(null);
  const content = useRef<L.LayerGroup | null>(null);
  const fitted = useRef(false);
  const cb = useRef(props);
  cb.current = props;
  const [zoom, setZoom] = useState(0);

  useEffect(() => {
    const maxZoom = props.maxZoom ?? 19;
    const m = L.map(el.current!, { zoomControl: true, attributionControl: true, minZoom: 2, maxZoom: Math.max(maxZoom, 18) });
    map.current = m;
    if (props.tileUrl) {
      L.tileLayer(props.tileUrl, { attribution: props.tileAttribution ?? "", maxZoom: Math.max(maxZoom, 18), maxNativeZoom: maxZoom }).addTo(m);
    } else {
      void addOutlines(m);
      m.attributionControl.addAttribution("Natural Earth (world-atlas)");
      const grid = L.layerGroup().addTo(m);
      m.on("moveend zoomend resize", () => drawGrid(m, grid));
    }
    m.on("zoomend", () => setZoom(m.getZoom()));
    content.current = L.layerGroup().addTo(m);
    m.on("click", (e: L.LeafletMouseEvent) => cb.current.onMapClick?.(e.latlng.lat, e.latlng.lng));
    m.setView(props.center ?? [0, 0], props.zoom ?? (props.center ? 16 : 2));
    const ro = new ResizeObserver(() => m.invalidateSize());
    ro.observe(el.current!);
    return () => {
      ro.disconnect();
      m.remove();
      map.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.tileUrl]);

  useEffect(() => {
    const m = map.current;
    const layer = content.current;
    if (!m || !layer) return;
    layer.clearLayers();
    const pts: L.LatLngExpression[] = [];
    const points: Point2[] = [];
    const now = Date.now();
    for (const c of props.cameras ?? []) {
      if (c.lat === null || c.lat === undefined || c.lon === null || c.lon === undefined) continue;
      const lat = c.lat;
      const lon = c.lon;
      pts.push([lat, lon]);
      for (const z of c.zones ?? []) {
        const poly = geoPolygon(z);
        if (poly) L.polygon(poly, { color: "#d9a441", weight: 1, fillOpacity: 0.15 }).addTo(layer).bindTooltip(esc(z.name || z.id));
      }
      const hot = props.hotCameras?.has(c.id);
      const selected = props.selectedCamera === c.id;
      points.push({
        lat,
        lon,
        draw: (into) => {
          L.circle([lat, lon], { radius: 35, color: hot ? "#ff4d4f" : "#3fa7ff", weight: 1, fillOpacity: 0.08, interactive: false }).addTo(into);
          L.circleMarker([lat, lon], {
            radius: selected ? 10 : 7,
            color: selected ? "#ffffff" : "#0b1118",
            weight: 2,
            fillColor: c.enabled === false ? "#5b6673" : hot ? "#ff4d4f" : "#3fa7ff",
            fillOpacity: 1,
            className: hot ? "map-hot" : "",
          })
            .addTo(into)
            .bindTooltip(cameraTooltip(c), { direction: "top" })
            .on("click", (e) => {
              L.DomEvent.stopPropagation(e);
              cb.current.onCameraClick?.(c.id);
            });
          L.marker([lat, lon], {
            interactive: false,
            icon: L.divIcon({ className: "map-camera-label", html: esc(c.name || c.id), iconSize: [140, 14], iconAnchor: [-10, 7] }),
          }).addTo(into);
        },
      });
    }
    for (const i of props.incidents ?? []) {
      if (i.lat === null || i.lat === undefined || i.lon === null || i.lon === undefined) continue;
      const lat = i.lat;
      const lon = i.lon;
      pts.push([lat, lon]);
      points.push({
        lat,
        lon,
        draw: (into) =>
          void L.marker([lat, lon], {
            icon: L.divIcon({ className: "map-incident", html: "▲", iconSize: [18, 18], iconAnchor: [9, 9] }),
          })
            .addTo(into)
            .bindTooltip(`<b>${esc(i.title)}</b><br>${esc(i.status)}`),
      });
    }
    for (const mk of props.markers ?? []) {
      if (mk.kind !== "unit") pts.push([mk.lat, mk.lon]);
      const seenMs = mk.positionAt ? new Date(mk.positionAt).getTime() : NaN;
      const stale = mk.kind === "unit" && (Number.isNaN(seenMs) || now - seenMs > (props.staleAfterS ?? 120) * 1000);
      const label = mk.kind === "unit" ? `${esc(mk.label)}<br>${stale ? "<b>stale</b> · " : ""}last seen ${ago(mk.positionAt, now)}` : esc(mk.label);
      points.push({
        lat: mk.lat,
        lon: mk.lon,
        draw: (into) =>
          void L.marker([mk.lat, mk.lon], {
            icon:
              mk.kind === "unit"
                ? unitIcon(mk, stale)
                : L.divIcon({ className: `map-${mk.kind}`, html: mk.kind === "pin" ? "●" : "■", iconSize: [18, 18], iconAnchor: [9, 9] }),
          })
            .addTo(into)
            .bindTooltip(label),
      });
    }
    drawClustered(m, layer, points);
    if (!fitted.current && !props.center && pts.length) {
      fitted.current = true;
      if (pts.length === 1) m.setView(pts[0], 17);
      else m.fitBounds(L.latLngBounds(pts).pad(0.3), { maxZoom: 18 });
    }
  }, [props.cameras, props.incidents, props.markers, props.hotCameras, props.selectedCamera, props.center, zoom, props.staleAfterS]);

  return <div class={`map ${props.class ?? ""}`} ref={el} />;
}
