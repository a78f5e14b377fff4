// A banner on every screen while the service is degraded (database down: events are held, not lost).
import { useEffect, useState } from "preact/hooks";

interface Liveness {
  status: string;
  reason?: string;
  held_events?: number;
}

const POLL_MS = 5000;

export function DegradedBanner() {
  const [state, setState] = useState<Liveness | null>(null);
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const res = await fetch("/healthz", { credentials: "same-origin" });
        const body = (await res.json()) as Liveness;
        if (!stopped) setState(body);
      } catch {
        if (!stopped) setState({ status: "degraded", reason: "the server does not answer" });
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  if (!state || state.status === "ok") return null;
  const held = state.held_events ? ` (${state.held_events} event(s) held)` : "";
  return (
    <div class="degraded-banner" role="alert" data-testid="degraded-banner">
      Service degraded: {state.reason ?? "unknown reason"}
      {held}
    </div>
  );
}
