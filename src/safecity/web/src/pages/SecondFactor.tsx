// The login's second step: a code from the authenticator app (or a recovery code), or, the first time,
// enrolment: scan the QR code, confirm with a code, keep the recovery codes (shown once).
import { useEffect, useState } from "preact/hooks";
import { post } from "../api";

interface Enrolment {
  secret: string;
  uri: string;
  qr_svg: string;
}

export function SecondFactorStep({ stage, onDone }: { stage: "mfa" | "enrol"; onDone: () => Promise<void> }) {
  const [code, setCode] = useState("");
  const [recovery, setRecovery] = useState(false);
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (stage === "enrol") {
      post<Enrolment>("/api/auth/2fa/enrol").then(setEnrolment, (err) => setError((err as Error).message));
    }
  }, [stage]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (stage === "enrol") {
        const r = await post<{ recovery_codes: string[] }>("/api/auth/2fa/confirm", { code: code.trim() });
        setCodes(r.recovery_codes);
      } else {
        await post("/api/auth/2fa/verify", recovery ? { recovery_code: code.trim() } : { code: code.trim() });
        await onDone();
      }
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (codes) {
    return (
      <div class="login-page">
        <div class="login-card" aria-label="Recovery codes">
          <h2>Two-factor authentication is on</h2>
          <p>Keep these recovery codes somewhere safe, offline. Each one signs you in once if you lose your phone. They are not shown again.</p>
          <ul class="recovery-codes">
            {codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
          <button type="button" class="btn btn-primary btn-block" onClick={() => void onDone()}>
            I have saved them — continue
          </button>
        </div>
      </div>
    );
  }

  return (
    <div class="login-page">
      <form class="login-card" onSubmit={submit} aria-label="Second factor">
        {stage === "enrol" ? (
          <>
            <h2>Set up two-factor authentication</h2>
            <p>Your role requires it. Scan this code with an authenticator app, then enter the 6-digit code it shows.</p>
            {enrolment && (
              <>
                <img class="totp-qr" src={enrolment.qr_svg} alt="QR code for the authenticator app" width={220} height={220} />
                <p>
                  Or type this key: <code class="totp-secret">{enrolment.secret}</code>
                </p>
              </>
            )}
          </>
        ) : (
          <>
            <h2>Two-factor authentication</h2>
            <p>{recovery ? "Enter one of your recovery codes." : "Enter the 6-digit code from your authenticator app."}</p>
          </>
        )}
        <label class="field">
          <span class="field-label">{recovery ? "Recovery code" : "Code"}</span>
          <input
            name="code"
            autocomplete="one-time-code"
            inputMode={recovery ? "text" : "numeric"}
            autofocus
            value={code}
            onInput={(e) => setCode(e.currentTarget.value)}
          />
        </label>
        {error && (
          <div class="state state-error" role="alert">
            <span class="error-reason">{error}</span>
          </div>
        )}
        <button type="submit" class="btn btn-primary btn-block" disabled={busy || !code.trim()}>
          {busy ? "Checking…" : "Verify"}
        </button>
        {stage === "mfa" && (
          <button type="button" class="btn btn-link" onClick={() => setRecovery(!recovery)}>
            {recovery ? "Use the authenticator app" : "Use a recovery code"}
          </button>
        )}
      </form>
    </div>
  );
}
