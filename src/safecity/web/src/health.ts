// Per-camera health, normalised from /api/health and live `camera_status` messages.
import { useState } from "preact/hooks";
import { get } from "./api";
import { toDate } from "./format";
import { useAsync, useInterval } from "./hooks";
import { useLive } from "./live";
import type { CameraStatus } from "./types";

export interface CamHealth {
  id: string;
  state: "ok" | "dark" | "error" | "disabled" | "starting" | "stopped" | "unknown";
  fps: number | null;
  targetFps: number | null;
  dropped: number | null;
  latencyMs: number | null;
  reconnects: number | null;
  lastFrame: Date | null;
  error: string | null;
  raw: CameraStatus;
}

export interface HealthReport {
  status: string;
  cameras: CamHealth[];
  raw: Record<string, unknown>;
}

const n = (...vs: unknown[]): number | null => {
  for (const v of vs) if (typeof v === "number" && !Number.isNaN(v)) return v;
  return null;
};

export function normaliseCamera(id: string, s: CameraStatus): CamHealth {
  const last = toDate((s.last_frame_at ?? s.last_frame ?? s.last_frame_ts ?? null) as string | number | null);
  const word = String(s.state ?? s.status ?? "").toLowerCase();
  let state: CamHealth["state"] = "unknown";
  if (word === "disabled" || s.enabled === false) state = "disabled";
  else if (word === "error") state = "error";
  else if (word === "stopped") state = "stopped";
  else if (s.dark === true || s.online === false || ["dark", "down", "offline", "stale", "failed"].includes(word)) state = "dark";
  else if (["starting", "connecting", "reconnecting"].includes(word)) state = "starting";
  else if (s.dark === false || s.online === true || ["ok", "running", "online", "live", "up"].includes(word)) state = "ok";
  return {
    id,
    state,
    fps: n(s.analysed_fps, s.fps_analysed, s.fps),
    targetFps: n(s.target_fps, s.configured_fps),
    dropped: n(s.frames_dropped, s.dropped_frames, s.dropped),
    latencyMs: n(s.detector_latency_ms, s.latency_ms, s.detector_ms),
    reconnects: n(s.reconnects),
    lastFrame: last,
    error: (s.error as string | null | undefined) ?? (s.last_error as string | null | undefined) ?? null,
    raw: s,
  };
}

export function normaliseHealth(raw: Record<string, unknown>): HealthReport {
  const cams = raw.cameras as CameraStatus[] | Record<string, CameraStatus> | undefined;
  let list: CamHealth[] = [];
  if (Array.isArray(cams)) list = cams.map((c) => normaliseCamera(String(c.camera_id ?? c.id ?? "?"), c));
  else if (cams && typeof cams === "object") list = Object.entries(cams).map(([id, c]) => normaliseCamera(id, c));
  list.sort((a, b) => Number(!isBad(a)) - Number(!isBad(b)) || a.id.localeCompare(b.id));
  return { status: String(raw.status ?? "unknown"), cameras: list, raw };
}

export function isBad(h: CamHealth | undefined): boolean {
  return !!h && (h.state === "dark" || h.state === "error");
}

/** Latest `camera_status` live message per camera (status changes: dark, back to ok, error...). */
export function useCameraStatusLive(): Record<string, CameraStatus> {
  const [live, setLive] = useState<Record<string, CameraStatus>>({});
  useLive(["camera_status"], (msg) => {
    const d = msg.data as CameraStatus;
    const id = String(d.camera_id ?? "");
    if (id) setLive((m) => ({ ...m, [id]: d }));
  });
  return live;
}

/** Health of every camera, refreshed every `ms` and on each live `camera_status`. */
export function useHealth(ms = 5000) {
  const h = useAsync(() => get<Record<string, unknown>>("/api/health").then(normaliseHealth), []);
  const live = useCameraStatusLive();
  useLive(["camera_status"], () => void h.reload());
  useInterval(() => void h.reload(), ms);
  const byId: Record<string, CamHealth> = {};
  for (const c of h.data?.cameras ?? []) byId[c.id] = c;
  for (const [id, d] of Object.entries(live)) if (!byId[id]) byId[id] = normaliseCamera(id, d);
  return { ...h, byId };
}
