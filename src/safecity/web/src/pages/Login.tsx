// Login: username and password; the API's reason is shown on failure (bad credentials, rate limit).
import { useState } from "preact/hooks";
import { login, type SecondFactor } from "../session";
import { SecondFactorStep } from "./SecondFactor";

export function LoginPage({ onLogin }: { onLogin: () => Promise<void> }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [stage, setStage] = useState<SecondFactor>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!username || !password) {
      setError("Enter your username and password.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const step = await login(username.trim(), password);
      setPassword("");
      if (step) setStage(step);
      else await onLogin();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (stage) return <SecondFactorStep stage={stage} onDone={onLogin} />;

  return (
    <div class="login-page">
      <form class="login-card" onSubmit={submit} aria-label="Log in">
        <div class="login-brand">
          <span class="brand-mark">◆</span> SAFECITY
          <small>Command center</small>
        </div>
        <label class="field">
          <span class="field-label">Username</span>
          <input
            name="username"
            autocomplete="username"
            autofocus
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label class="field">
          <span class="field-label">Password</span>
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && (
          <div class="state state-error" role="alert">
            <span class="error-reason">{error}</span>
          </div>
        )}
        <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p class="login-foot">
          Members of the public: <a href="/report">report an incident</a> — no account needed.
        </p>
      </form>
    </div>
  );
}
