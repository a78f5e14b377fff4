// Entry point: the public report form needs no login; every other screen runs inside a session.
import { loadUiConfig } from "./data";
import { setSiteZone } from "./format";
import { render } from "preact";
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { setUnauthorizedHandler } from "./api";
import { DegradedBanner } from "./components/DegradedBanner";
import { Shell } from "./components/Shell";
import { ErrorBox, Loading } from "./components/ui";
import { startLive, stopLive } from "./live";
import { AdminPage } from "./pages/Admin";
import { AlertRulesPage } from "./pages/AlertRules";
import { AlertsPage } from "./pages/Alerts";
import { AnalyticsPage } from "./pages/Analytics";
import { BiometricsPage } from "./pages/Biometrics";
import { CameraPage } from "./pages/Camera";
import { DashboardPage } from "./pages/Dashboard";
import { EventsPage } from "./pages/Events";
import { FieldPage } from "./pages/Field";
import { HealthPage } from "./pages/Health";
import { IncidentDetailPage } from "./pages/IncidentDetail";
import { IncidentsPage } from "./pages/Incidents";
import { LoginPage } from "./pages/Login";
import { NationalPage } from "./pages/National";
import { PublicReportPage } from "./pages/PublicReport";
import { RecordingsPage } from "./pages/Recordings";
import { ReportsPage } from "./pages/Reports";
import { match, navigate, useLocation } from "./router";
import { canDo, homeFor, loadMe, logout, type Session, SessionContext } from "./session";
import "./styles.css";
import type { Me } from "./types";

function NotFound({ path }: { path: string }) {
  return <ErrorBox error={`No screen at ${path}`} />;
}

function Forbidden({ perm }: { perm: string }) {
  return <ErrorBox error={`Your roles do not allow this screen (needs ${perm}).`} />;
}

function routeFor(path: string, can: (p: string) => boolean) {
  const guard = (perm: string, el: () => preact.JSX.Element) => (can(perm) ? el() : <Forbidden perm={perm} />);
  let m: Record<string, string> | null;
  if (path === "/" && !can("alerts:read") && !can("cameras:read") && can("federation:read")) return <NationalPage />;
  if (path === "/") return guard(can("alerts:read") ? "alerts:read" : "cameras:read", () => <DashboardPage />);
  if ((m = match("/cameras/:id", path))) {
    const id = m.id;
    return guard("cameras:read", () => <CameraPage id={id} />);
  }
  if (path === "/alerts") return guard("alerts:read", () => <AlertsPage />);
  if (path === "/alert-rules") return guard("alert_rules:manage", () => <AlertRulesPage />);
  if (path === "/incidents") return guard("incidents:read", () => <IncidentsPage />);
  if ((m = match("/incidents/:id", path))) {
    const id = m.id;
    return guard("incidents:read", () => <IncidentDetailPage id={id} />);
  }
  if (path === "/events") return guard("events:read", () => <EventsPage />);
  if (path === "/recordings") return guard("media:read", () => <RecordingsPage />);
  if (path === "/analytics") return guard("analytics:read", () => <AnalyticsPage />);
  if (path === "/reports") return guard("reports:triage", () => <ReportsPage />);
  if (path === "/health") return guard("health:read", () => <HealthPage />);
  if (path === "/field") return guard("field:respond", () => <FieldPage />);
  if (path === "/national") return guard("federation:read", () => <NationalPage />);
  if (path === "/admin" || path.startsWith("/admin/")) return <AdminPage path={path} />;
  if (path === "/biometrics" || path.startsWith("/biometrics/")) return <BiometricsPage path={path} />;
  return <NotFound path={path} />;
}

function App() {
  const loc = useLocation();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);

  const refresh = useCallback(async () => {
    try {
      setMe(await loadMe());
      setError(null);
    } catch (err) {
      setError(err as Error);
    }
  }, []);

  useEffect(() => {
    if (loc.path === "/report") return;
    void refresh();
    setUnauthorizedHandler(() => {
      setMe(null);
      stopLive();
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [loc.path === "/report"]);

  useEffect(() => {
    if (me) startLive();
    else stopLive();
  }, [me]);

  const session = useMemo<Session | null>(() => {
    if (!me) return null;
    return {
      me,
      can: (p: string) => canDo(me, p),
      refresh,
      logout: async () => {
        await logout();
        setMe(null);
        navigate("/login");
      },
    };
  }, [me, refresh]);

  if (loc.path === "/report") return <PublicReportPage />;
  if (error && me === undefined) {
    return (
      <div class="center-page">
        <ErrorBox error={error} retry={() => void refresh()} />
      </div>
    );
  }
  if (me === undefined) {
    return (
      <div class="center-page">
        <Loading what="Connecting" />
      </div>
    );
  }
  if (!me || !session) {
    return (
      <LoginPage
        onLogin={async () => {
          const next = await loadMe();
          setMe(next);
          // stay on a deep link; from "/" or "/login" go to the user's home screen
          if (next && (location.pathname === "/" || location.pathname === "/login")) {
            navigate(homeFor(next), true);
          }
        }}
      />
    );
  }
  if (loc.path === "/login") {
    navigate(homeFor(me), true);
    return null;
  }
  if (loc.path === "/field" && session.can("field:respond")) {
    // a phone screen of its own: no operator chrome
    return (
      <SessionContext.Provider value={session}>
        <FieldPage />
      </SessionContext.Provider>
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Shell path={loc.path}>{routeFor(loc.path, session.can)}</Shell>
    </SessionContext.Provider>
  );
}

// times are shown in the site's zone (or the user's own): know it before the first screen renders
void loadUiConfig()
  .then((c) => setSiteZone(c.timezone as string | undefined))
  .finally(() =>
    render(
      <>
        <DegradedBanner />
        <App />
      </>,
      document.getElementById("app")!,
    ),
  );
