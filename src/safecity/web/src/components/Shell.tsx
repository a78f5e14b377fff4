// The operator's frame: navigation by permission, live-link state, clock, user, keyboard help.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { loadUiConfig } from "../data";
import { activeZone, fmtTime, setSiteZone, setZoneChoice, zoneChoice } from "../format";
import { loadPrefs, savePrefs } from "../prefs";
import { useKeys, useNow } from "../hooks";
import { useLiveState } from "../live";
import { navigate } from "../router";
import { displayName, useSession } from "../session";
import { AlertSound } from "./AlertSound";
import { SessionsDialog } from "./SessionsDialog";
import { Kbd, Link, Modal, Toasts } from "./ui";

export interface NavItem {
  href: string;
  label: string;
  key: string;
  show: (can: (p: string) => boolean) => boolean;
}

export const NAV: NavItem[] = [
  { href: "/", label: "Dashboard", key: "d", show: (can) => can("cameras:read") || can("alerts:read") },
  { href: "/alerts", label: "Alerts", key: "a", show: (can) => can("alerts:read") },
  { href: "/incidents", label: "Incidents", key: "i", show: (can) => can("incidents:read") },
  { href: "/events", label: "Events", key: "e", show: (can) => can("events:read") },
  { href: "/recordings", label: "Recordings", key: "v", show: (can) => can("media:read") },
  { href: "/analytics", label: "Analytics", key: "y", show: (can) => can("analytics:read") },
  { href: "/reports", label: "Reports", key: "r", show: (can) => can("reports:triage") },
  { href: "/health", label: "Health", key: "h", show: (can) => can("health:read") },
  { href: "/national", label: "National", key: "n", show: (can) => can("federation:read") },
  {
    href: "/biometrics",
    label: "Watchlists",
    key: "b",
    show: (can) =>
      ["biometrics:review", "watchlists:manage", "plates:review", "hotlists:manage", "transparency:read", "audit:read"].some(can),
  },
  { href: "/field", label: "Field", key: "f", show: (can) => can("field:respond") },
  {
    href: "/admin",
    label: "Admin",
    key: "m",
    show: (can) => can("users:manage") || can("cameras:manage") || can("units:manage"),
  },
];

export function LiveDot() {
  const s = useLiveState();
  const label = s === "open" ? "LIVE" : s === "connecting" ? "CONNECTING" : "OFFLINE";
  return (
    <span class={`live-dot live-${s}`} title="Live link (WebSocket)" data-live={s}>
      <i /> {label}
    </span>
  );
}

/** The time in the displayed zone; a click switches between the site's zone and the user's own (kept
 * per user on the server) and redraws the page in the new zone. */
function Clock({ onZone }: { onZone: () => void }) {
  const now = useNow(1000);
  useEffect(() => void loadUiConfig().then((c) => setSiteZone(c.timezone as string | undefined)), []);
  const choice = zoneChoice();
  const other = choice === "site" ? "local" : "site";
  return (
    <button
      type="button"
      class="clock btn btn-sm btn-ghost"
      data-testid="clock"
      data-zone={activeZone()}
      title={`Times are shown in ${activeZone()} (${choice === "site" ? "the site's zone" : "this browser's zone"}). Click to use ${other === "site" ? "the site's zone" : "your own zone"}.`}
      onClick={() => {
        setZoneChoice(other);
        void savePrefs({ time_zone: other === "local" ? "browser" : "site" });
        onZone();
      }}
    >
      {fmtTime(now)}
    </button>
  );
}

export function Shell({ path, children }: { path: string; children: ComponentChildren }) {
  const session = useSession();
  const items = NAV.filter((n) => n.show(session.can));
  const [help, setHelp] = useState(false);
  const [sessions, setSessions] = useState(false);
  // bumped when the displayed zone changes: the page is drawn again, its times and date inputs with it
  const [zoneVersion, setZoneVersion] = useState(0);
  useEffect(() => {
    void loadPrefs().then((p) => {
      if (!p) return;
      setSiteZone(p.site_zone);
      const want = p.time_zone === "browser" ? "local" : "site";
      if (want !== zoneChoice()) {
        setZoneChoice(want);
        setZoneVersion((v) => v + 1);
      }
    });
  }, []);
  const pendingG = useRef(0);
  const keys: Record<string, () => void> = {
    "?": () => setHelp(true),
    g: () => (pendingG.current = Date.now()),
  };
  for (const n of items) {
    keys[n.key] = () => {
      if (Date.now() - pendingG.current < 1500) {
        pendingG.current = 0;
        navigate(n.href);
      }
    };
  }
  // page-level shortcuts use the same letters; "g" first means navigation
  useKeys(keys);
  const active = (href: string) => (href === "/" ? path === "/" || path.startsWith("/cameras") : path.startsWith(href));
  return (
    <div class="shell">
      <header class="topbar">
        <Link href="/" class="brand">
          <span class="brand-mark">◆</span> SAFECITY <span class="brand-sub">command center</span>
        </Link>
        <nav class="nav" aria-label="Main">
          {items.map((n) => (
            <Link key={n.href} href={n.href} class={active(n.href) ? "active" : ""} title={`g ${n.key}`}>
              {n.label}
            </Link>
          ))}
        </nav>
        <div class="topbar-right">
          <LiveDot />
          {session.can("alerts:read") && <AlertSound />}
          <Clock onZone={() => setZoneVersion((v) => v + 1)} />
          <span class="user" title={session.me.roles.join(", ")} data-testid="current-user">
            {displayName(session.me)}
            <small>{session.me.roles.join(" · ")}</small>
          </span>
          <button type="button" class="btn btn-sm btn-ghost" onClick={() => setSessions(true)}>
            Sessions
          </button>
          <button type="button" class="btn btn-sm btn-ghost" onClick={() => void session.logout()}>
            Log out
          </button>
          <button type="button" class="btn btn-sm btn-ghost" title="Keyboard shortcuts (?)" onClick={() => setHelp(true)}>
            ?
          </button>
        </div>
      </header>
      <main class="page" key={zoneVersion}>
        {children}
      </main>
      <Toasts />
      {sessions && <SessionsDialog onClose={() => setSessions(false)} onLoggedOut={() => void session.logout()} />}
      {help && (
        <Modal title="Keyboard shortcuts" onClose={() => setHelp(false)}>
          <table class="keys">
            <tbody>
              {items.map((n) => (
                <tr key={n.href}>
                  <td>
                    <Kbd>g</Kbd> <Kbd>{n.key}</Kbd>
                  </td>
                  <td>{n.label}</td>
                </tr>
              ))}
              <tr>
                <td>
                  <Kbd>j</Kbd> / <Kbd>k</Kbd>
                </td>
                <td>Next / previous row (alerts, events, reports)</td>
              </tr>
              <tr>
                <td>
                  <Kbd>x</Kbd>
                </td>
                <td>Select the row (alerts)</td>
              </tr>
              <tr>
                <td>
                  <Kbd>A</Kbd> <Kbd>C</Kbd> <Kbd>N</Kbd>
                </td>
                <td>Acknowledge / close / new incident from the selected alerts</td>
              </tr>
              <tr>
                <td>
                  <Kbd>l</Kbd> <Kbd>z</Kbd> <Kbd>Esc</Kbd> <Kbd>Enter</Kbd>
                </td>
                <td>Rule editor: draw a line / a zone, cancel, close the zone</td>
              </tr>
              <tr>
                <td>
                  <Kbd>?</Kbd>
                </td>
                <td>This help</td>
              </tr>
            </tbody>
          </table>
        </Modal>
      )}
    </div>
  );
}
