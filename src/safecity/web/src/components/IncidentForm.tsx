// Create an incident, from selected alerts (prefilled) or by hand.
import { useEffect, useState } from "preact/hooks";
import { get, post } from "../api";
import { alertTitle } from "../alerts";
import { useCameras } from "../data";
import { humanize } from "../format";
import { navigate } from "../router";
import type { Alert, Incident, IncidentType } from "../types";
import { ErrorBox, Field, Modal, toast } from "./ui";

export const FALLBACK_TYPES = ["crowding", "lost_person", "theft", "medical", "public_disorder", "suspicious_object", "other"];
export const PRIORITIES = ["critical", "high", "medium", "low", "info"];

let typesCache: Promise<string[]> | null = null;

/** Incident types (each has its SOP checklist on the server); a fixed list if the API does not say. */
export function loadIncidentTypes(): Promise<string[]> {
  typesCache ??= get<IncidentType[]>("/api/incident-types")
    .then((list) => (list.length ? list.map((t) => t.id) : FALLBACK_TYPES))
    .catch(() => {
      typesCache = null;
      return FALLBACK_TYPES;
    });
  return typesCache;
}

function guessType(alerts: Alert[], types: string[]): string {
  const k = alerts[0]?.kind ?? "";
  if (types.includes(k)) return k;
  return types.includes("other") ? "other" : types[0];
}


export function IncidentForm({ alerts = [], onClose, onCreated }: { alerts?: Alert[]; onClose: () => void; onCreated?: (i: Incident) => void }) {
  const cams = useCameras();
  const [types, setTypes] = useState<string[]>(FALLBACK_TYPES);
  const first = alerts[0];
  const [title, setTitle] = useState(first ? alertTitle(first) : "");
  const [type, setType] = useState(guessType(alerts, FALLBACK_TYPES));
  // empty: the server's default (the highest alert severity, else the type's own priority)
  const [priority, setPriority] = useState("");
  const [cameraId, setCameraId] = useState(first?.camera_id ?? "");
  const [lat, setLat] = useState("");
  const [lon, setLon] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void loadIncidentTypes().then((t) => {
      setTypes(t);
      setType((cur) => (t.includes(cur) ? cur : guessType(alerts, t)));
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!title.trim() && !alerts.length) {
      setError("A title is needed.");
      return;
    }
    setBusy(true);
    setError(null);
    const body: Record<string, unknown> = { type };
    if (title.trim()) body.title = title.trim();
    if (priority) body.priority = priority;
    if (alerts.length) body.alert_ids = alerts.map((a) => a.id);
    if (cameraId) body.camera_id = cameraId;
    if (lat !== "" && lon !== "") {
      body.lat = Number(lat);
      body.lon = Number(lon);
    }
    try {
      const inc = await post<Incident>("/api/incidents", body);
      toast(`Incident #${inc.id} opened`, "ok");
      onCreated?.(inc);
      onClose();
      navigate(`/incidents/${inc.id}`);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      title={alerts.length ? `New incident from ${alerts.length} alert${alerts.length > 1 ? "s" : ""}` : "New incident"}
      onClose={onClose}
      footer={
        <>
          <button type="button" class="btn btn-ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form="incident-form" class="btn btn-primary" disabled={busy}>
            {busy ? "Opening…" : "Open incident"}
          </button>
        </>
      }
    >
      <form id="incident-form" class="form" onSubmit={submit}>
        <Field label="Title" wide>
          <input name="title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} required={!alerts.length} maxLength={200} />
        </Field>
        <Field label="Type" hint="sets the SOP checklist">
          <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            {types.map((t) => (
              <option key={t} value={t}>
                {humanize(t)}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Priority">
          <select name="priority" value={priority} onChange={(e) => setPriority(e.currentTarget.value)}>
            <option value="">{alerts.length ? "from the alerts" : "the type's default"}</option>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Camera">
          <select name="camera_id" value={cameraId} onChange={(e) => setCameraId(e.currentTarget.value)}>
            <option value="">—</option>
            {(cams.data ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.name || c.id}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Latitude">
          <input name="lat" type="number" step="any" min={-90} max={90} value={lat} onInput={(e) => setLat(e.currentTarget.value)} />
        </Field>
        <Field label="Longitude">
          <input name="lon" type="number" step="any" min={-180} max={180} value={lon} onInput={(e) => setLon(e.currentTarget.value)} />
        </Field>
        {alerts.length > 0 && (
          <ul class="muted small wide">
            {alerts.map((a) => (
              <li key={String(a.id)}>
                #{a.id} {alertTitle(a)} ({a.severity})
              </li>
            ))}
          </ul>
        )}
        {error && <ErrorBox error={error} />}
      </form>
    </Modal>
  );
}
