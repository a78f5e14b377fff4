// Data several screens share, fetched once and kept for a short while.
import { ApiError, get, items } from "./api";
import { useAsync } from "./hooks";
import type { Camera, UiConfig, Unit } from "./types";

let uiConfig: Promise<UiConfig> | null = null;

/** Optional UI settings (map tiles, report limits); an API without /api/ui-config means "none". */
export function loadUiConfig(): Promise<UiConfig> {
  uiConfig ??= get<UiConfig>("/api/public/ui-config").catch((err) => {
    if (err instanceof ApiError && err.status !== 0) return {};
    uiConfig = null;
    return {};
  });
  return uiConfig;
}

let cameras: { at: number; data: Promise<Camera[]> } | null = null;

export function loadCameras(force = false): Promise<Camera[]> {
  if (force || !cameras || Date.now() - cameras.at > 30000) {
    const data = get<Camera[] | { items: Camera[] }>("/api/cameras").then(items);
    data.catch(() => (cameras = null));
    cameras = { at: Date.now(), data };
  }
  return cameras.data;
}

export function forgetCameras(): void {
  cameras = null;
}

export function useCameras() {
  return useAsync(() => loadCameras(), []);
}

export function cameraName(list: Camera[] | undefined, id: string | null | undefined): string {
  if (!id) return "—";
  const c = list?.find((x) => x.id === id);
  return c?.name || id;
}

export function unitName(u: Unit | null | undefined): string {
  if (!u) return "—";
  return u.call_sign || `unit ${u.id}`;
}

export const EVENT_KINDS = ["line_crossing", "zone_enter", "zone_exit", "crowding", "loitering"];
export const LABELS = ["person", "bicycle", "car", "motorcycle", "bus", "truck"];
export const SEVERITIES = ["critical", "high", "medium", "low", "info"];
export const SEVERITY_RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
