// The signed-in user's display preferences, kept on the server (/api/me/preferences) so they follow the
// user to any browser: time zone (the site's or the browser's) and the alert sound's mute and volume.
import { get, patch } from "./api";

export interface Prefs {
  time_zone: "site" | "browser";
  sound_muted: boolean | null;
  sound_volume: number | null;
  site_zone: string;
}

let cached: Promise<Prefs | null> | null = null;

/** Once per sign-in; null when they cannot be read (older server, signed out). */
export function loadPrefs(): Promise<Prefs | null> {
  cached ??= get<Prefs>("/api/me/preferences").catch(() => null);
  return cached;
}

/** Change some preferences (the others are kept by the server). */
export function savePrefs(change: Partial<Omit<Prefs, "site_zone">>): Promise<Prefs | null> {
  cached = patch<Prefs>("/api/me/preferences", change).catch(() => null);
  return cached;
}

export function forgetPrefs(): void {
  cached = null;
}
