// Urgency in the control room: a sound for each new high or critical alert and for every escalation
// (critical alert or dispatch not acknowledged in time), with mute and volume kept per user on the server
// (/api/me/preferences; localStorage holds a copy for the first paint). Escalations also raise an error
// toast that stays a while.
import { useEffect, useRef, useState } from "preact/hooks";
import { useLive } from "../live";
import { loadPrefs as serverPrefs, savePrefs } from "../prefs";
import { useSession } from "../session";
import { toast } from "./ui";

const LOUD = new Set(["high", "critical"]);

interface SoundPrefs {
  muted: boolean;
  volume: number;
}

function prefsKey(user: string): string {
  return `safecity.sound.${user}`;
}

function loadPrefs(user: string): SoundPrefs {
  try {
    const raw = JSON.parse(localStorage.getItem(prefsKey(user)) ?? "{}") as Partial<SoundPrefs>;
    return { muted: raw.muted === true, volume: typeof raw.volume === "number" ? Math.min(1, Math.max(0, raw.volume)) : 0.7 };
  } catch {
    return { muted: false, volume: 0.7 };
  }
}

export function AlertSound() {
  const { me } = useSession();
  const user = me.user?.username ?? String(me.id ?? "");
  const [prefs, setPrefs] = useState<SoundPrefs>(() => loadPrefs(user));
  const [open, setOpen] = useState(false);
  const audio = useRef<HTMLAudioElement>(null);
  const played = useRef(0);
  const synced = useRef(false); // the server's choice was applied: later changes are the user's own
  useEffect(() => {
    void serverPrefs().then((p) => {
      if (p && p.sound_muted !== null) setPrefs({ muted: p.sound_muted, volume: p.sound_volume ?? 0.7 });
      synced.current = true;
    });
  }, []);
  useEffect(() => {
    localStorage.setItem(prefsKey(user), JSON.stringify(prefs));
    if (!synced.current) return;
    const t = window.setTimeout(() => void savePrefs({ sound_muted: prefs.muted, sound_volume: prefs.volume }), 400);
    return () => window.clearTimeout(t);
  }, [prefs, user]);
  const ring = (why: string) => {
    const a = audio.current;
    if (!a || prefs.muted) return;
    a.volume = prefs.volume;
    a.currentTime = 0;
    played.current += 1;
    a.dataset.played = String(played.current);
    a.dataset.reason = why;
    void a.play().catch(() => undefined); // a browser may refuse before the first click on the page
  };
  useLive(["alert", "alert_escalation", "dispatch_escalation"], (msg) => {
    const d = msg.data as { severity?: string; message?: string };
    if (msg.type === "alert") {
      if (LOUD.has(String(d.severity))) ring(`alert:${d.severity}`);
      return;
    }
    toast(d.message ?? "Escalation", "error");
    ring(msg.type);
  });
  return (
    <span class="sound">
      <audio ref={audio} src="/alert.wav" preload="auto" data-testid="alert-sound" data-played="0" />
      <button
        type="button"
        class="btn btn-sm btn-ghost"
        title={prefs.muted ? "Alert sound muted" : "Alert sound on"}
        aria-label={prefs.muted ? "Unmute alert sound" : "Mute alert sound"}
        data-testid="sound-toggle"
        data-muted={String(prefs.muted)}
        onClick={() => setPrefs((p) => ({ ...p, muted: !p.muted }))}
        onContextMenu={(e) => {
          e.preventDefault();
          setOpen((o) => !o);
        }}
      >
        {prefs.muted ? "Sound off" : "Sound on"}
      </button>
      <button type="button" class="btn btn-sm btn-ghost sound-more" aria-label="Alert sound volume" onClick={() => setOpen((o) => !o)}>
        ▾
      </button>
      {open && (
        <span class="sound-pop">
          <label>
            Volume
            <input type="range" min={0} max={1} step={0.1} value={prefs.volume} aria-label="Alert volume" onInput={(e) => setPrefs((p) => ({ ...p, volume: Number(e.currentTarget.value) }))} />
          </label>
          <button type="button" class="btn btn-sm" onClick={() => ring("test")}>
            Test
          </button>
        </span>
      )}
    </span>
  );
}
