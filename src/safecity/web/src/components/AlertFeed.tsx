// The live alert feed: most severe first, then newest; colour by severity, a highlight when something
// arrives (the sound is AlertSound's).
import { ackAlert, alertTime, alertTitle, isOpen } from "../alerts";
import { cameraName, SEVERITY_RANK } from "../data";
import { ago, fmtDateTime } from "../format";
import { useNow } from "../hooks";
import { navigate } from "../router";
import { useSession } from "../session";
import type { Alert, Camera } from "../types";
import { act, Badge, Empty } from "./ui";

export function AlertFeed(props: {
  alerts: Alert[];
  fresh: Set<string>;
  cameras?: Camera[];
  onChanged: (a: Alert) => void;
  onFocusCamera?: (id: string) => void;
}) {
  const { can } = useSession();
  const now = useNow(5000);
  if (!props.alerts.length) return <Empty>No open alerts. New ones appear here live.</Empty>;
  const sorted = [...props.alerts].sort(
    (a, b) => (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9) || String(alertTime(b)).localeCompare(String(alertTime(a))),
  );
  return (
    <ul class="feed" aria-label="Alert feed" data-testid="alert-feed">
      {sorted.map((a) => {
        const id = String(a.id);
        return (
          <li
            key={id}
            class={`feed-item sev-${a.severity} ${props.fresh.has(id) ? "fresh" : ""} ${isOpen(a) ? "" : "done"}`}
            data-alert-id={id}
            data-status={a.status}
            onClick={() => a.camera_id && props.onFocusCamera?.(a.camera_id)}
          >
            <div class="feed-main">
              <div class="feed-title">
                <Badge kind={a.severity}>{a.severity}</Badge> {alertTitle(a)}
                {(a.occurrences ?? 0) > 1 && <span class="feed-count" title="repeats merged into this alert">×{a.occurrences}</span>}
              </div>
              <div class="feed-meta">
                <span>{cameraName(props.cameras, a.camera_id)}</span>
                <span title={fmtDateTime(alertTime(a))}>{ago(alertTime(a), now)}</span>
                <Badge kind={a.status}>{a.status}</Badge>
              </div>
            </div>
            <div class="feed-actions" onClick={(e) => e.stopPropagation()}>
              {can("alerts:act") && a.status !== "acknowledged" && isOpen(a) && (
                <button
                  type="button"
                  class="btn btn-sm"
                  onClick={async () => {
                    await act("Acknowledge", async () => props.onChanged(await ackAlert(a.id)), "Alert acknowledged");
                  }}
                >
                  Ack
                </button>
              )}
              <button type="button" class="btn btn-sm btn-ghost" onClick={() => navigate(`/alerts?focus=${encodeURIComponent(id)}`)}>
                Open
              </button>
            </div>
          </li>
        );
      })}
    </ul>
  );
}
