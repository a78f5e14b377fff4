// System health: per camera analysed fps, dropped frames, detector latency, reconnects, last frame;
// dark cameras first and in red.
import { Badge, Empty, Link, StateView } from "../components/ui";
import { cameraName, useCameras } from "../data";
import { ago, fmtDateTime, humanize, num } from "../format";
import { useHealth } from "../health";
import { useNow } from "../hooks";

export function HealthPage() {
  const health = useHealth(3000);
  const cams = useCameras();
  const now = useNow(1000);
  return (
    <div class="health-page">
      <header class="page-head">
        <h1>System health</h1>
        <span class="muted">
          refreshes every 3 s · <a href="/metrics">Prometheus /metrics</a>
        </span>
      </header>
      <StateView async={health} what="Loading health">
        {(h) => {
          // bus / store / live counters: {name: {counter: value}}
          const extra = Object.entries(h.raw).filter(([k, v]) => k !== "cameras" && k !== "status" && v && typeof v === "object");
          return (
            <>
              <div class="health-summary">
                <Badge kind={h.status}>{h.status}</Badge>
                {extra.map(([k, v]) => (
                  <span key={k} class="kv" data-testid={`health-${k}`}>
                    <b>{humanize(k)}</b>{" "}
                    {Object.entries(v as Record<string, unknown>).map(([ck, cv]) => (
                      <span key={ck} class="kv-item">
                        <span class="muted">{ck.replace(/_/g, " ")}</span> {String(cv)}
                      </span>
                    ))}
                  </span>
                ))}
              </div>
              {h.cameras.length === 0 ? (
                <Empty>No camera reports its health.</Empty>
              ) : (
                <table class="grid" data-testid="health-table">
                  <thead>
                    <tr>
                      <th>Camera</th>
                      <th>State</th>
                      <th class="num">Analysed fps</th>
                      <th class="num">Dropped frames</th>
                      <th class="num">Detector latency</th>
                      <th class="num">Reconnects</th>
                      <th>Last frame</th>
                      <th>Error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {health.data!.cameras.map((c0) => {
                      const c = health.byId[c0.id] ?? c0;
                      const stale = c.lastFrame ? now - c.lastFrame.getTime() > 10000 : false;
                      return (
                        <tr key={c.id} class={c.state === "dark" ? "row-bad" : stale ? "row-warn" : ""} data-camera-id={c.id} data-state={c.state}>
                          <td>
                            <Link href={`/cameras/${encodeURIComponent(c.id)}`}>{cameraName(cams.data, c.id)}</Link>
                          </td>
                          <td>
                            <Badge kind={c.state}>{c.state}</Badge>
                          </td>
                          <td class="num">
                            {num(c.fps)}
                            {c.targetFps ? <span class="muted"> / {num(c.targetFps, 0)}</span> : null}
                          </td>
                          <td class="num">{c.dropped ?? "—"}</td>
                          <td class="num">{c.latencyMs !== null ? `${num(c.latencyMs)} ms` : "—"}</td>
                          <td class="num">{c.reconnects ?? "—"}</td>
                          <td class="mono" title={c.lastFrame ? fmtDateTime(c.lastFrame.getTime()) : ""}>
                            {c.lastFrame ? ago(c.lastFrame.getTime(), now) : "—"}
                          </td>
                          <td class="small text-bad">{c.error ?? ""}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              )}
            </>
          );
        }}
      </StateView>
    </div>
  );
}
