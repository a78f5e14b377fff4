// The map: cameras, their zones, incidents and report pins on a plain background with a coordinate grid,
// so it works with no network; a tile layer only when the deployment configures a tile URL.
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import { useEffect, useRef } from "preact/hooks";
import type { Camera, Incident, Point } from "../types";

export interface MapMarker {
  id: string;
  lat: number;
  lon: number;
  label: string;
  kind: "incident" | "report" | "pin";
  severity?: string;
}

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

export function MapView(props: MapViewProps) {
  const el = useRef<HTMLDivElement>(null);
  const map = useRef<L.Map | null>(null);
  const content = useRef<L.LayerGroup | null>(null);
  const fitted = useRef(false);
  const cb = useRef(props);
  cb.current = props;

  useEffect(() => {
    const m = L.map(el.current!, { zoomControl: true, attributionControl: !!props.tileUrl, minZoom: 2, maxZoom: 21 });
    map.current = m;
    if (props.tileUrl) {
      L.tileLayer(props.tileUrl, { attribution: props.tileAttribution ?? "", maxZoom: 21 }).addTo(m);
    } else {
      const grid = L.layerGroup().addTo(m);
      m.on("moveend zoomend resize", () => drawGrid(m, grid));
    }
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
    for (const c of props.cameras ?? []) {
      if (c.lat === null || c.lat === undefined || c.lon === null || c.lon === undefined) continue;
      pts.push([c.lat, c.lon]);
      for (const z of c.zones ?? []) {
        const poly = geoPolygon(z);
        if (poly) L.polygon(poly, { color: "#d9a441", weight: 1, fillOpacity: 0.15 }).addTo(layer).bindTooltip(esc(z.name || z.id));
      }
      const hot = props.hotCameras?.has(c.id);
      const selected = props.selectedCamera === c.id;
      L.circle([c.lat, c.lon], { radius: 35, color: hot ? "#ff4d4f" : "#3fa7ff", weight: 1, fillOpacity: 0.08, interactive: false }).addTo(layer);
      L.circleMarker([c.lat, c.lon], {
        radius: selected ? 10 : 7,
        color: selected ? "#ffffff" : "#0b1118",
        weight: 2,
        fillColor: c.enabled === false ? "#5b6673" : hot ? "#ff4d4f" : "#3fa7ff",
        fillOpacity: 1,
        className: hot ? "map-hot" : "",
      })
        .addTo(layer)
        .bindTooltip(cameraTooltip(c), { direction: "top" })
        .on("click", (e) => {
          L.DomEvent.stopPropagation(e);
          cb.current.onCameraClick?.(c.id);
        });
    }
    for (const i of props.incidents ?? []) {
      if (i.lat === null || i.lat === undefined || i.lon === null || i.lon === undefined) continue;
      pts.push([i.lat, i.lon]);
      L.marker([i.lat, i.lon], {
        icon: L.divIcon({ className: "map-incident", html: "▲", iconSize: [18, 18], iconAnchor: [9, 9] }),
      })
        .addTo(layer)
        .bindTooltip(`<b>${esc(i.title)}</b><br>${esc(i.status)}`);
    }
    for (const mk of props.markers ?? []) {
      pts.push([mk.lat, mk.lon]);
      L.marker([mk.lat, mk.lon], {
        icon: L.divIcon({ className: `map-${mk.kind}`, html: mk.kind === "pin" ? "●" : "■", iconSize: [18, 18], iconAnchor: [9, 9] }),
      })
        .addTo(layer)
        .bindTooltip(esc(mk.label));
    }
    if (!fitted.current && !props.center && pts.length) {
      fitted.current = true;
      if (pts.length === 1) m.setView(pts[0], 17);
      else m.fitBounds(L.latLngBounds(pts).pad(0.3), { maxZoom: 18 });
    }
  }, [props.cameras, props.incidents, props.markers, props.hotCameras, props.selectedCamera, props.center]);

  return <div class={`map ${props.class ?? ""}`} ref={el} />;
}
