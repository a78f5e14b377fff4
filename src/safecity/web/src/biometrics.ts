// Face matching under lawful authorization: the API's shapes (never a template or a face) and calls.
import { get, post, request } from "./api";

export const PURPOSES = ["victim_or_missing_person", "imminent_threat", "serious_crime_suspect"] as const;

export interface Authorization {
  id: number;
  issuer: string;
  reference: string;
  purpose: string;
  cameras: string[];
  starts_at: string;
  ends_at: string;
  notes: string;
  created_by: string;
  revoked_at: string | null;
  revoke_reason: string | null;
}

export interface Entry {
  id: number;
  label: string;
  source: string;
  source_registry: string | null;
  legal_basis: string;
  expires_at: string;
  added_by: string;
  removed_at: string | null;
  remove_reason: string | null;
}

export interface Watchlist {
  id: number;
  name: string;
  description: string;
  cameras: string[];
  threshold: number;
  status: string;
  authorization_id: number | null;
  urgent_justification: string | null;
  urgent_started_at: string | null;
  changed_at: string;
  changed_by: string;
  reviewed_at: string | null;
  reviewed_by: string | null;
  stop_reason: string | null;
  entries?: Entry[];
}

export interface Review {
  username: string;
  decision: string;
  note: string;
  at: string;
}

export interface Match {
  id: number;
  watchlist_id: number;
  camera_id: string;
  seen_at: string;
  score: number;
  threshold: number;
  status: string;
  has_crop: boolean;
  acted_by: string | null;
  reviews?: Review[];
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
}

export interface AuditPage {
  chain: { ok: boolean; checked: number; problem: string | null; seq: number | null };
  entries: AuditEntry[];
}

export type Report = Record<string, unknown> & {
  audit_chain: { ok: boolean; entries: number; problem: string | null };
  deletions: Record<string, number>;
};

const B = "/api/biometrics";
export const bio = {
  authorizations: () => get<Authorization[]>(`${B}/authorizations`),
  createAuthorization: (body: Omit<Authorization, "id" | "created_by" | "revoked_at" | "revoke_reason">) =>
    post<Authorization>(`${B}/authorizations`, body),
  revoke: (id: number, reason: string) => post(`${B}/authorizations/${id}/revoke`, { reason }),
  watchlists: () => get<Watchlist[]>(`${B}/watchlists`),
  watchlist: (id: number) => get<Watchlist>(`${B}/watchlists/${id}`),
  createWatchlist: (name: string, cameras: string[], description: string) =>
    post<Watchlist>(`${B}/watchlists`, { name, cameras, description }),
  addEntry: (id: number, form: FormData) => request<Entry[]>("POST", `${B}/watchlists/${id}/entries`, form),
  removeEntry: (id: number, reason: string) => post(`${B}/entries/${id}/remove`, { reason }),
  review: (id: number, note: string) => post(`${B}/watchlists/${id}/review`, { note }),
  activate: (id: number, authorization_id: number) => post(`${B}/watchlists/${id}/activate`, { authorization_id }),
  urgent: (id: number, justification: string) => post(`${B}/watchlists/${id}/urgent`, { justification }),
  authorize: (id: number, authorization_id: number) => post(`${B}/watchlists/${id}/authorize`, { authorization_id }),
  stop: (id: number, reason: string) => post(`${B}/watchlists/${id}/stop`, { reason }),
  threshold: (id: number, value: number, reason: string) => post(`${B}/watchlists/${id}/threshold`, { value, reason }),
  matches: (status: string) => get<Match[]>(`${B}/matches`, { status: status || undefined }),
  match: (id: number) => get<Match>(`${B}/matches/${id}`),
  reviewMatch: (id: number, confirm: boolean, note: string) => post<Match>(`${B}/matches/${id}/review`, { confirm, note }),
  dispatch: (id: number, note: string) => post<Match>(`${B}/matches/${id}/dispatch`, { note }),
  cropUrl: (id: number) => `${B}/matches/${id}/crop`,
  transparency: () => get<Report>(`${B}/transparency`),
  audit: (action: string) => get<AuditPage>(`${B}/audit`, { action: action || undefined, limit: 300 }),
};
