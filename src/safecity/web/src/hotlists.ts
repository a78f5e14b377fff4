// Vehicle hotlists under a lawful authorization (scope "vehicles") and the two-person confirmation of their
// hits: the API's shapes and calls. A hit's read text and plate crop are for reviewers only.
import { get, patch, post } from "./api";
import type { Authorization, Review } from "./biometrics";

export const VEHICLE_PURPOSES = ["stolen_vehicle", "victim_or_missing_person", "imminent_threat", "serious_crime_suspect"] as const;

export interface HotlistEntry {
  id: number;
  plate: string;
  label: string;
  source: string;
  expires_at: string;
  added_by: string;
  removed_at: string | null;
  remove_reason: string | null;
}

export interface Hotlist {
  id: number;
  name: string;
  description: string;
  cameras: string[];
  fuzzy: boolean;
  status: string;
  authorization_id: number | null;
  activated_by: string | null;
  stop_reason: string | null;
  entries?: HotlistEntry[];
}

export interface PlateHit {
  id: number;
  hotlist_id: number;
  camera_id: string;
  seen_at: string;
  plate: string | null;
  listed: string;
  fuzzy: boolean;
  confidence: number;
  status: string;
  has_crop: boolean;
  acted_by: string | null;
  reviews?: Review[];
}

export interface PlateRead {
  id: string;
  camera_id: string;
  track_id: number;
  plate: string;
  confidence: number;
  country: string;
  direction: string;
  seen_at: string;
}

const H = "/api/hotlists";
export const hot = {
  authorizations: () => get<Authorization[]>(`${H}/authorizations`),
  createAuthorization: (body: Omit<Authorization, "id" | "created_by" | "revoked_at" | "revoke_reason">) =>
    post<Authorization>(`${H}/authorizations`, body),
  revoke: (id: number, reason: string) => post(`${H}/authorizations/${id}/revoke`, { reason }),
  hotlists: () => get<Hotlist[]>(H),
  hotlist: (id: number) => get<Hotlist>(`${H}/${id}`),
  create: (name: string, cameras: string[], fuzzy: boolean) => post<Hotlist>(H, { name, cameras, fuzzy }),
  update: (id: number, body: { fuzzy?: boolean; description?: string }) => patch<Hotlist>(`${H}/${id}`, body),
  addEntries: (id: number, entries: { plate: string; label: string; source: string; expires_at: string }[]) =>
    post<HotlistEntry[]>(`${H}/${id}/entries`, entries),
  removeEntry: (id: number, reason: string) => post(`${H}/entries/${id}/remove`, { reason }),
  activate: (id: number, authorization_id: number) => post(`${H}/${id}/activate`, { authorization_id }),
  stop: (id: number, reason: string) => post(`${H}/${id}/stop`, { reason }),
  hits: (status: string) => get<PlateHit[]>(`${H}/hits`, { status: status || undefined }),
  hit: (id: number) => get<PlateHit>(`${H}/hits/${id}`),
  review: (id: number, confirm: boolean, note: string) => post<PlateHit>(`${H}/hits/${id}/review`, { confirm, note }),
  dispatch: (id: number, note: string) => post<PlateHit>(`${H}/hits/${id}/dispatch`, { note }),
  cropUrl: (id: number) => `${H}/hits/${id}/crop`,
  reads: (q: { plate: string; reason: string; fuzzy: boolean; camera_id?: string }) =>
    get<{ items: PlateRead[]; plate: string; fuzzy: boolean }>("/api/plates/reads", { ...q, camera_id: q.camera_id || undefined }),
};
