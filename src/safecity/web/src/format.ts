// Formatting shared by every screen: 24 h, tabular times in ONE zone, labelled: the site's time zone
// (`site.timezone`) by default, or the browser's own when the user switches to it (kept per user on the
// server, /api/me/preferences, and mirrored in localStorage so the first paint is already right).
// Date inputs are read and written in that same zone, never silently in the browser's.

export function toDate(v: string | number | null | undefined): Date | null {
  if (v === null || v === undefined || v === "") return null;
  if (typeof v === "number") return new Date(v < 1e12 ? v * 1000 : v);
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

const pad = (n: number) => String(n).padStart(2, "0");
const LOCAL_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const CHOICE_KEY = "safecity.timezone"; // "site" | "local"
let siteZone = "UTC";

/** Set from /api/ui-config at start. */
export function setSiteZone(zone: string | null | undefined): void {
  if (zone) siteZone = zone;
}

export function zoneChoice(): "site" | "local" {
  try {
    return localStorage.getItem(CHOICE_KEY) === "local" ? "local" : "site";
  } catch {
    return "site";
  }
}

export function setZoneChoice(choice: "site" | "local"): void {
  try {
    localStorage.setItem(CHOICE_KEY, choice);
  } catch {
    /* private mode: the server keeps the choice */
  }
}

export function browserZone(): string {
  return LOCAL_ZONE;
}

/** The IANA zone every time is shown in. */
export function activeZone(): string {
  return zoneChoice() === "local" ? LOCAL_ZONE : siteZone;
}

const formats = new Map<string, Intl.DateTimeFormat>();
function parts(d: Date, zone = activeZone()): Record<string, string> {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      second: "2-digit", hourCycle: "h23", timeZoneName: "short",
    });
    formats.set(zone, f);
  }
  return Object.fromEntries(f.formatToParts(d).map((p) => [p.type, p.value]));
}

/** The short label of the active zone at `v` (e.g. "CET", "GMT+1", "UTC"). */
export function zoneLabel(v: string | number | Date = Date.now()): string {
  const d = v instanceof Date ? v : toDate(v);
  return d ? (parts(d).timeZoneName ?? activeZone()) : activeZone();
}

export function fmtTime(v: string | number | null | undefined): string {
  const d = toDate(v);
  if (!d) return "—";
  const p = parts(d);
  return `${p.hour}:${p.minute}:${p.second} ${p.timeZoneName}`;
}

export function fmtDateTime(v: string | number | null | undefined): string {
  const d = toDate(v);
  if (!d) return "—";
  const p = parts(d);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName}`;
}

export function ago(v: string | number | null | undefined, now = Date.now()): string {
  const d = toDate(v);
  if (!d) return "—";
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function num(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  return v.toFixed(digits);
}

/** How far `zone`'s wall clock is ahead of UTC at instant `t` (ms). */
function offsetMs(t: number, zone: string): number {
  const p = parts(new Date(t), zone);
  const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
  return wall - Math.floor(t / 1000) * 1000;
}

/** A wall-clock time "YYYY-MM-DDTHH:MM[:SS]" of `zone` as a Date. Around a daylight-saving change it
 * reads as the server does (Python's zoneinfo, fold=0): a time that occurs twice is the first one, a time
 * skipped by the change takes the offset in force before it. */
export function wallToDate(wall: string, zone: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(wall);
  if (!m) return null;
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0));
  if (Number.isNaN(guess)) return null;
  const DAY = 86_400_000;
  const before = offsetMs(guess - DAY, zone);
  const after = offsetMs(guess + DAY, zone);
  const valid = [before, after].map((o) => guess - o).filter((t) => guess - offsetMs(t, zone) === t);
  return new Date(valid.length ? Math.min(...valid) : guess - before);
}

/** datetime-local input value, in the displayed zone (`activeZone()`) <-> ISO string (UTC). */
export function toLocalInput(v: string | number | Date | null | undefined, zone = activeZone()): string {
  const d = v instanceof Date ? v : toDate(v ?? null);
  if (!d) return "";
  const p = parts(d, zone);
  return `${p.year}-${p.month}-${p.day}T${pad(+p.hour % 24)}:${p.minute}`;
}

export function fromLocalInput(v: string, zone = activeZone()): string | null {
  if (!v) return null;
  const d = wallToDate(v, zone);
  return d ? d.toISOString() : null;
}

/** "YYYY-MM-DD" of today in the displayed zone (date inputs). */
export function todayInput(offsetDays = 0, zone = activeZone()): string {
  return toLocalInput(Date.now() + offsetDays * 86_400_000, zone).slice(0, 10);
}

export function humanize(s: string | null | undefined): string {
  if (!s) return "—";
  return s.replace(/[_-]+/g, " ").replace(/^\w/, (c) => c.toUpperCase());
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
