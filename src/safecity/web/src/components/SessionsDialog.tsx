// The signed-in user's login sessions (where and when each was used): end one, or log out everywhere.
import { useEffect, useState } from "preact/hooks";
import { del, get, post } from "../api";
import { fmtTime } from "../format";
import { Modal } from "./ui";

interface SessionInfo {
  id: string;
  created_at: string;
  last_seen_at: string;
  client_ip: string | null;
  user_agent: string | null;
  current: boolean;
}

export function SessionsDialog({ onClose, onLoggedOut }: { onClose: () => void; onLoggedOut: () => void }) {
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => get<SessionInfo[]>("/api/auth/sessions").then(setSessions, (e) => setError((e as Error).message));
  useEffect(() => void load(), []);

  const end = async (id: string) => {
    await del(`/api/auth/sessions/${id}`).catch((e) => setError((e as Error).message));
    await load();
  };
  const everywhere = async () => {
    await post("/api/auth/logout-everywhere").catch(() => undefined);
    onLoggedOut();
  };

  return (
    <Modal
      title="Your sessions"
      onClose={onClose}
      footer={
        <button type="button" class="btn btn-danger" onClick={() => void everywhere()}>
          Log out everywhere
        </button>
      }
    >
      {error && <div class="state state-error" role="alert">{error}</div>}
      <table class="sessions" aria-label="Sessions">
        <tbody>
          {(sessions ?? []).map((s) => (
            <tr key={s.id} data-testid="session-row">
              <td>{s.current ? <strong>this browser</strong> : s.user_agent ?? "unknown browser"}</td>
              <td>{s.client_ip ?? ""}</td>
              <td title={`signed in ${fmtTime(s.created_at)}`}>last used {fmtTime(s.last_seen_at)}</td>
              <td>
                {!s.current && (
                  <button type="button" class="btn btn-sm" onClick={() => void end(s.id)}>
                    End
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}
