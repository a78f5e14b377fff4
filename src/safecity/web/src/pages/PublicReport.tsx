// Report from the public at /report: no login. What, where (map pin, my location or nearest camera),
// when, an optional photo checked here for type and size (the server enforces its limits anyway).
import { useEffect, useState } from "preact/hooks";
import { get, post } from "../api";
import { MapView } from "../components/MapView";
import { Field } from "../components/ui";
import { loadUiConfig } from "../data";
import { bytes, fromLocalInput, humanize, toLocalInput, zoneLabel } from "../format";
import type { Camera, ReportOptions, UiConfig } from "../types";

const DEFAULT_CATEGORIES = ["theft", "assault", "harassment", "lost_person", "medical", "suspicious", "vandalism", "traffic", "other"];
const DEFAULT_TYPES = ["image/jpeg", "image/png"];
const DEFAULT_MAX = 5 * 1024 * 1024;

type Where = "pin" | "camera";

export function PublicReportPage() {
  const [ui, setUi] = useState<UiConfig | null>(null);
  const [options, setOptions] = useState<ReportOptions | null>(null);
  const [optionsError, setOptionsError] = useState<string | null>(null);
  const [category, setCategory] = useState("");
  const [description, setDescription] = useState("");
  const [where, setWhere] = useState<Where>("pin");
  const [pin, setPin] = useState<[number, number] | null>(null);
  const [cameraId, setCameraId] = useState("");
  const [when, setWhen] = useState(toLocalInput(new Date()));
  const [photo, setPhoto] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [photoError, setPhotoError] = useState<string | null>(null);
  const [contact, setContact] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<{ id?: unknown; message?: string } | null>(null);
  const [locating, setLocating] = useState(false);

  useEffect(() => {
    document.title = "Report an incident — safecity";
    void loadUiConfig().then(setUi);
    // categories, photo limits and the cameras' public positions (no login needed)
    get<ReportOptions>("/api/public/report-options").then(setOptions, (err) => setOptionsError((err as Error).message));
  }, []);
  useEffect(() => () => void (preview && URL.revokeObjectURL(preview)), [preview]);

  const categories = options?.categories?.length ? options.categories : DEFAULT_CATEGORIES;
  const types = options?.photo_types?.length ? options.photo_types : DEFAULT_TYPES;
  const maxBytes = options?.max_photo_bytes ?? DEFAULT_MAX;
  const maxDescription = options?.max_description ?? 2000;
  const cameras: Camera[] = options?.cameras ?? [];

  const pickPhoto = (f: File | null) => {
    setPhotoError(null);
    setPhoto(null);
    setPreview(null);
    if (!f) return;
    if (!types.includes(f.type)) {
      setPhotoError(`This file is ${f.type || "of an unknown type"}; send a photo as ${types.map((t) => t.replace("image/", "").toUpperCase()).join(", ")}.`);
      return;
    }
    if (f.size > maxBytes) {
      setPhotoError(`The photo is ${bytes(f.size)}; the limit is ${bytes(maxBytes)}.`);
      return;
    }
    setPhoto(f);
    setPreview(URL.createObjectURL(f));
  };

  const [consent, setConsent] = useState(false);
  const locate = () => {
    if (!consent) return setError("Tick “Share this position with the control room” first.");
    if (!navigator.geolocation) {
      setError("This browser cannot share its location; put a pin on the map instead.");
      return;
    }
    setLocating(true);
    navigator.geolocation.getCurrentPosition(
      (p) => {
        setPin([p.coords.latitude, p.coords.longitude]);
        setLocating(false);
      },
      (e) => {
        setError(`Location not available: ${e.message}`);
        setLocating(false);
      },
      { timeout: 10000 },
    );
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!category) return setError("Choose what happened.");
    if (!description.trim()) return setError("Describe what happened.");
    if (where === "pin" && !pin) return setError("Put a pin on the map (or use your location), or choose the nearest camera.");
    if (where === "pin" && !consent) return setError("Tick “Share this position with the control room”, or choose the nearest camera instead.");
    if (where === "camera" && !cameraId) return setError("Choose the nearest camera.");
    if (photoError) return setError(photoError);
    const form = new FormData();
    form.set("category", category);
    form.set("description", description.trim());
    if (where === "pin" && pin) {
      form.set("lat", String(pin[0]));
      form.set("lon", String(pin[1]));
    } else form.set("camera_id", cameraId);
    const iso = fromLocalInput(when);
    if (iso) form.set("observed_at", iso);
    if (photo) form.set("photo", photo, photo.name);
    if (contact.trim()) form.set("contact", contact.trim());
    setBusy(true);
    try {
      setDone(await post<{ id?: unknown; message?: string }>("/api/public/reports", form));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (done) {
    return (
      <div class="public-page">
        <div class="public-card success" role="status" data-testid="report-success">
          <h1>Thank you — your report was received</h1>
          <p>{done.message ?? "The command center reviews every report."}</p>
          <p>
            Your reference: <b class="mono" data-testid="report-reference">{String(done.id ?? "—")}</b>. In an emergency call <b>112</b>.
          </p>
          <button type="button" class="btn btn-primary" onClick={() => location.reload()}>
            Send another report
          </button>
        </div>
      </div>
    );
  }

  return (
    <div class="public-page">
      <form class="public-card" onSubmit={submit} aria-label="Report an incident" noValidate>
        <h1>Report an incident</h1>
        <p class="muted">No account needed. In an emergency call <b>112</b> first.</p>
        {optionsError && (
          <div class="state state-error" role="alert">
            The report service is not answering ({optionsError}). You can still try to send.
          </div>
        )}
        <Field label="What happened?">
          <select name="category" value={category} onChange={(e) => setCategory(e.currentTarget.value)} required>
            <option value="">Choose…</option>
            {categories.map((c) => (
              <option key={c} value={c}>
                {humanize(c)}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Description">
          <textarea name="description" rows={4} maxLength={maxDescription} value={description} onInput={(e) => setDescription(e.currentTarget.value)} placeholder="What did you see? People, vehicles, direction…" />
        </Field>
        <fieldset class="where">
          <legend>Where?</legend>
          <div class="seg">
            <label class={where === "pin" ? "on" : ""}>
              <input type="radio" name="where" value="pin" checked={where === "pin"} onChange={() => setWhere("pin")} /> Pin on the map
            </label>
            <label class={where === "camera" ? "on" : ""}>
              <input type="radio" name="where" value="camera" checked={where === "camera"} onChange={() => setWhere("camera")} /> Nearest camera
            </label>
          </div>
          {where === "pin" ? (
            <>
              <div class="report-map-wrap">
                {ui && (
                  <MapView
                    class="report-map"
                    cameras={cameras}
                    tileUrl={ui.tile_url}
                    tileAttribution={ui.tile_attribution}
                    center={ui.map_center ?? null}
                    zoom={ui.map_zoom}
                    markers={pin ? [{ id: "pin", lat: pin[0], lon: pin[1], label: "Reported here", kind: "pin" }] : []}
                    onMapClick={(lat, lon) => setPin([lat, lon])}
                    onCameraClick={(id) => {
                      setWhere("camera");
                      setCameraId(id);
                    }}
                  />
                )}
              </div>
              <div class="row2">
                <span class="muted small mono" data-testid="pin">
                  {pin ? `${pin[0].toFixed(5)}, ${pin[1].toFixed(5)}` : "Tap the map to place the pin"}
                </span>
                <button type="button" class="btn btn-sm" onClick={locate} disabled={locating || !consent}>
                  {locating ? "Locating…" : "Use my location"}
                </button>
              </div>
              <label class="check consent">
                <input type="checkbox" name="share_location" checked={consent} onChange={(e) => setConsent(e.currentTarget.checked)} />
                Share this position with the control room (it is stored with your report and used to send help)
              </label>
            </>
          ) : cameras.length ? (
            <select name="camera_id" value={cameraId} onChange={(e) => setCameraId(e.currentTarget.value)}>
              <option value="">Choose…</option>
              {cameras.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name || c.id}
                </option>
              ))}
            </select>
          ) : (
            <input name="camera_id" value={cameraId} placeholder="Camera number (on the sign under it)" onInput={(e) => setCameraId(e.currentTarget.value)} />
          )}
        </fieldset>
        <Field label={`When? (${zoneLabel()})`}>
          <input type="datetime-local" name="when" value={when} max={toLocalInput(new Date(Date.now() + 60000))} onInput={(e) => setWhen(e.currentTarget.value)} />
        </Field>
        <Field label="Photo (optional)" hint={`${types.map((t) => t.replace("image/", "").toUpperCase()).join(", ")}, up to ${bytes(maxBytes)}`}>
          <input type="file" name="photo" accept={types.join(",")} onChange={(e) => pickPhoto(e.currentTarget.files?.[0] ?? null)} />
        </Field>
        {photoError && (
          <div class="state state-error" role="alert" data-testid="photo-error">
            {photoError}
          </div>
        )}
        {preview && <img class="photo-preview" src={preview} alt="Photo to send" />}
        <Field label="Contact (optional)" hint="phone or e-mail, only if you want to be called back">
          <input name="contact" maxLength={200} value={contact} onInput={(e) => setContact(e.currentTarget.value)} />
        </Field>
        {error && (
          <div class="state state-error" role="alert" data-testid="report-error">
            <span class="error-reason">{error}</span>
          </div>
        )}
        <button type="submit" class="btn btn-primary btn-block btn-big" disabled={busy}>
          {busy ? "Sending…" : "Send report"}
        </button>
      </form>
    </div>
  );
}
