// Messages on an incident (control room <-> units): text and an optional photo, live over the WebSocket.
// Photos come from the API face-blurred unless the viewer holds media:unredacted and asks for the original.
import { useState } from "preact/hooks";
import { get } from "../api";
import { useAsync, useNow } from "../hooks";
import { useLive } from "../live";
import { ago, fmtDateTime } from "../format";
import { Empty } from "./ui";

export interface Message {
  id: number;
  incident_id: number;
  at: string;
  sender: string;
  origin: string;
  call_sign: string | null;
  text: string;
  has_photo: boolean;
}

export interface QueuedMessage {
  key: string;
  text: string;
  hasPhoto: boolean;
}

export function MessageList(props: {
  incidentId: number;
  listUrl: string;
  photoUrl: (id: number) => string;
  queued?: QueuedMessage[];
  send: (text: string, photo: File | null) => Promise<boolean>;
}) {
  const list = useAsync(() => get<Message[]>(props.listUrl), [props.listUrl]);
  const now = useNow(10000);
  const [text, setText] = useState("");
  const [photo, setPhoto] = useState<File | null>(null);
  const [formKey, setFormKey] = useState(0);
  useLive(["message"], (msg) => {
    const m = msg.data as unknown as Message;
    if (Number(m.incident_id) !== Number(props.incidentId)) return;
    list.set((cur) => (cur?.some((x) => x.id === m.id) ? cur : [...(cur ?? []), m]));
  });
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!text.trim() && !photo) return;
    if (await props.send(text.trim(), photo)) {
      setText("");
      setPhoto(null);
      setFormKey((k) => k + 1);
    }
  };
  const messages = list.data ?? [];
  return (
    <div class="messages" data-testid="messages">
      {messages.length === 0 && !(props.queued ?? []).length ? (
        <Empty>No messages yet.</Empty>
      ) : (
        <ol class="msg-list">
          {messages.map((m) => (
            <li key={m.id} class={`msg msg-${m.origin}`} data-message-id={String(m.id)}>
              <div class="msg-head">
                <b>{m.origin === "unit" ? (m.call_sign ?? m.sender) : `Control (${m.sender})`}</b>
                <span class="muted small" title={fmtDateTime(m.at)}>
                  {ago(m.at, now)}
                </span>
              </div>
              {m.text && <div class="msg-text">{m.text}</div>}
              {m.has_photo && (
                <a href={props.photoUrl(m.id)} target="_blank" rel="noopener">
                  <img class="msg-photo" src={props.photoUrl(m.id)} alt="photo (faces blurred)" loading="lazy" />
                </a>
              )}
            </li>
          ))}
          {(props.queued ?? []).map((q) => (
            <li key={q.key} class="msg msg-queued" data-testid="queued-message">
              <div class="msg-head">
                <b>You</b> <span class="muted small">queued, sent when back online</span>
              </div>
              <div class="msg-text">{q.text}</div>
              {q.hasPhoto && <div class="muted small">+ photo</div>}
            </li>
          ))}
        </ol>
      )}
      <form class="msg-form" onSubmit={submit} key={formKey}>
        <input name="message" type="text" maxLength={4000} placeholder="Message…" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <label class="btn btn-sm btn-ghost msg-photo-btn">
          {photo ? "Photo ✓" : "Photo"}
          <input name="photo" type="file" accept="image/jpeg,image/png" capture="environment" hidden onChange={(e) => setPhoto(e.currentTarget.files?.[0] ?? null)} />
        </label>
        <button type="submit" class="btn btn-sm btn-primary" disabled={!text.trim() && !photo}>
          Send
        </button>
      </form>
    </div>
  );
}
