// Shapes of what the API returns. Fields the UI can do without are optional: screens degrade, not break.

export type Point = [number, number];

export interface LineRule {
  id: string;
  name?: string | null;
  start: Point;
  end: Point;
  in_name?: string;
  out_name?: string;
  classes?: string[] | null;
}

export interface ZoneRule {
  id: string;
  name?: string | null;
  polygon: Point[];
  classes?: string[] | null;
  crowding?: { threshold: number; min_duration_s: number } | null;
  loitering?: { after_s: number } | null;
}

export interface Camera {
  id: string;
  name?: string | null;
  source?: string;
  fps?: number;
  enabled?: boolean;
  loop?: boolean;
  width?: number | null;
  height?: number | null;
  lat?: number | null;
  lon?: number | null;
  lines?: LineRule[];
  zones?: ZoneRule[];
  health?: CameraStatus | null;
  created_at?: string;
  updated_at?: string;
}

export interface CameraStatus {
  camera_id?: string;
  state?: string;
  status?: string;
  online?: boolean;
  dark?: boolean;
  fps?: number | null;
  analysed_fps?: number | null;
  dropped_frames?: number | null;
  dropped?: number | null;
  frames_dropped?: number | null;
  frames_analysed?: number | null;
  seconds_since_frame?: number | null;
  detector_latency_ms?: number | null;
  latency_ms?: number | null;
  reconnects?: number | null;
  last_frame?: string | number | null;
  last_frame_at?: string | number | null;
  last_frame_ts?: string | number | null;
  frames?: number | null;
  error?: string | null;
  [key: string]: unknown;
}

export interface SafeEvent {
  id: string;
  camera_id: string;
  kind: string;
  start: string;
  end?: string;
  label?: string | null;
  track_id?: number | null;
  line_id?: string | null;
  zone_id?: string | null;
  direction?: string | null;
  count?: number | null;
  score?: number | null;
  snapshot?: string | null;
  snapshot_url?: string | null;
}

export interface Alert {
  id: string | number;
  status: string;
  severity: string;
  camera_id?: string | null;
  kind?: string | null;
  title?: string | null;
  message?: string | null;
  summary?: string | null;
  event_id?: string | null;
  event_ids?: string[];
  snapshot?: string | null;
  count?: number | null;
  occurrences?: number;
  rule_name?: string;
  label?: string | null;
  created_at?: string;
  updated_at?: string | null;
  first_seen?: string;
  last_seen?: string;
  assignee_id?: number | null;
  assigned_by?: string | null;
  acknowledged_by?: string | null;
  closed_by?: string | null;
  close_note?: string | null;
  incident_id?: string | number | null;
  zone_id?: string | null;
  line_id?: string | null;
  [key: string]: unknown;
}

export interface TimelineEntry {
  id?: string | number;
  at?: string;
  ts?: string;
  created_at?: string;
  kind?: string;
  type?: string;
  text?: string;
  message?: string;
  note?: string;
  actor?: string | null;
  user?: string | null;
  [key: string]: unknown;
}

export interface ChecklistItem {
  item_id: string;
  text?: string;
  label?: string;
  title?: string;
  done: boolean;
  done_by?: string | null;
  done_at?: string | null;
}

export interface Dispatch {
  id: string | number;
  incident_id: string | number;
  unit_id: string | number;
  status: string;
  call_sign?: string;
  note?: string | null;
  dispatched_at?: string;
  dispatched_by?: string;
  en_route_at?: string | null;
  on_scene_at?: string | null;
  closed_at?: string | null;
  incident?: Incident | null;
  created_at?: string;
  updated_at?: string | null;
  [key: string]: unknown;
}

export interface Incident {
  id: string | number;
  title: string;
  type: string;
  priority: string | number;
  status: string;
  lat?: number | null;
  lon?: number | null;
  camera_id?: string | null;
  alert_ids?: (string | number)[];
  created_at?: string;
  updated_at?: string | null;
  description?: string | null;
  timeline?: TimelineEntry[];
  checklist?: ChecklistItem[];
  dispatches?: Dispatch[];
  [key: string]: unknown;
}

export interface Unit {
  id: string | number;
  call_sign: string;
  kind?: string | null;
  status?: string | null;
  user_id?: number | null;
  lat?: number | null;
  lon?: number | null;
  [key: string]: unknown;
}

export interface PublicReport {
  id: string | number;
  category: string;
  description?: string | null;
  lat?: number | null;
  lon?: number | null;
  camera_id?: string | null;
  observed_at?: string | null;
  created_at?: string;
  status?: string;
  has_photo?: boolean;
  triaged_by?: string | null;
  triage_note?: string | null;
  contact?: string | null;
  incident_id?: string | number | null;
  [key: string]: unknown;
}

export interface User {
  id: string | number;
  username: string;
  display_name?: string | null;
  full_name?: string | null;
  roles?: string[];
  cameras?: string[] | null;
  disabled?: boolean;
  active?: boolean;
  [key: string]: unknown;
}

/** GET /api/auth/me: the caller (flat), plus `user` filled in by the client for convenience. */
export interface Me {
  id: number;
  username: string;
  display_name?: string;
  roles: string[];
  permissions: string[];
  cameras: string[] | null;
  via?: "session" | "token";
  user: User;
}

export interface UiConfig {
  tile_url?: string | null;
  tile_attribution?: string | null;
  map_center?: Point | null;
  map_zoom?: number | null;
  report_categories?: string[];
  report_max_photo_bytes?: number;
  report_photo_types?: string[];
  max_zoom?: number;
  timezone?: string;
  position_every_s?: number;
  stale_after_s?: number;
  dispatch_ack_s?: number;
  [key: string]: unknown;
}

export interface Paged<T> {
  items: T[];
  total: number;
}

export interface CameraPin {
  id: string;
  name: string;
  lat: number;
  lon: number;
}

/** GET /api/public/report-options (no login). */
export interface ReportOptions {
  categories: string[];
  max_description: number;
  max_photo_bytes: number;
  photo_types: string[];
  max_age_days: number;
  cameras: CameraPin[];
}

export interface IncidentType {
  id: string;
  name: string;
  default_priority: string;
  checklist: { id: string; text: string }[];
}
