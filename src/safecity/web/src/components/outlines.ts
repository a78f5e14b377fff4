// Offline geography: country outlines from Natural Earth (npm world-atlas, TopoJSON), loaded on demand
// as a separate bundle so a deployment with tiles never downloads it.
import L from "leaflet";

export async function addOutlines(map: L.Map): Promise<void> {
  const [{ feature }, topo] = await Promise.all([import("topojson-client"), import("world-atlas/countries-50m.json")]);
  const world = (topo as { default?: unknown }).default ?? topo;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const countries = feature(world as any, (world as any).objects.countries) as unknown as GeoJSON.GeoJsonObject;
  const pane = map.createPane("outlines");
  pane.style.zIndex = "250";
  L.geoJSON(countries, {
    pane: "outlines",
    interactive: false,
    style: { color: "#4b6a88", weight: 1, fillColor: "#15212e", fillOpacity: 0.6 },
  }).addTo(map);
}
