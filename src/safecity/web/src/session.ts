// Who is logged in and what they may do: the UI shows only what `permissions` allow (the API enforces it).
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { ApiError, get, post } from "./api";
import { forgetPrefs } from "./prefs";
import type { Me } from "./types";

export interface Session {
  me: Me;
  can: (perm: string) => boolean;
  logout: () => Promise<void>;
  refresh: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a logged-in screen");
  return s;
}

export function canDo(me: Me | null | undefined, perm: string): boolean {
  return !!me && (me.permissions ?? []).includes(perm);
}

/** The current user, or null when not logged in. Other errors propagate (shown on screen). */
export async function loadMe(): Promise<Me | null> {
  try {
    const me = await get<Me & { second_factor?: string | null }>("/api/auth/me");
    if (me.second_factor) return null; // half-way through the second factor: sign in again
    me.user ??= { id: me.id, username: me.username, display_name: me.display_name };
    return me;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return null;
    throw err;
  }
}

/** The login's answer: `second_factor` says whether a code ("mfa") or an enrolment ("enrol") follows. */
export async function login(username: string, password: string): Promise<SecondFactor> {
  const r = await post<{ second_factor?: SecondFactor }>("/api/auth/login", { username, password });
  return r.second_factor ?? null;
}

export type SecondFactor = "mfa" | "enrol" | null;

export async function logout(): Promise<void> {
  forgetPrefs();
  void globalThis.caches?.delete("safecity-v1"); // the field app's offline copy of its dispatches
  try {
    await post("/api/auth/logout");
  } catch {
    /* the session is gone either way */
  }
}

export function displayName(me: Me): string {
  const u = me.user;
  return u.display_name || u.full_name || u.username;
}

/** Where a user lands after login: field units go to their phone screen. */
export function homeFor(me: Me): string {
  if (canDo(me, "alerts:read") || canDo(me, "cameras:read")) return "/";
  if (canDo(me, "field:respond")) return "/field";
  if (canDo(me, "health:read")) return "/health";
  if (canDo(me, "incidents:read")) return "/incidents";
  return "/";
}
