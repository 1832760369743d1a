/**
 * The console's shell: a skip link, the navigation, and the routes under /console. The tenant's
 * pages need a tenant sign-in; the operator's page has its own (the admin token).
 */
import { ErrorBoundary, LocationProvider, Route, Router, useLocation, useRoute } from "preact-iso";
import { JobPage } from "./pages/job.tsx";
import { JobsPage } from "./pages/jobs.tsx";
import { OperatorPage } from "./pages/operator.tsx";
import { SubmitPage } from "./pages/submit.tsx";
import { RequireTenant, SessionProvider, useSession } from "./session-context.tsx";

function Nav() {
  const { path } = useLocation();
  const { session, signOut } = useSession();
  const link = (href: string, label: string, current: boolean) => (
    <li>
      <a href={href} aria-current={current ? "page" : undefined}>
        {label}
      </a>
    </li>
  );
  return (
    <header class="top">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <nav aria-label="Console">
        <ul>
          <li class="brand">comfyui-saas</li>
          {link("/console", "Jobs", path === "/console" || path.startsWith("/console/jobs"))}
          {link("/console/submit", "New job", path === "/console/submit")}
          {link("/console/operator", "Operator", path === "/console/operator")}
          <li>
            <a href="/docs">API docs</a>
          </li>
        </ul>
      </nav>
      {session ? (
        <p class="who">
          <span>
            User <strong>{session.userId}</strong>
          </span>
          <button type="button" class="secondary" onClick={signOut}>
            Sign out
          </button>
        </p>
      ) : null}
    </header>
  );
}

const JobsRoute = () => <RequireTenant>{(client) => <JobsPage client={client} />}</RequireTenant>;
const SubmitRoute = () => <RequireTenant>{(client) => <SubmitPage client={client} />}</RequireTenant>;
function JobRoute() {
  const { params } = useRoute();
  return <RequireTenant>{(client) => <JobPage client={client} id={params.id ?? ""} />}</RequireTenant>;
}

function NotFound() {
  return (
    <>
      <h1>Page not found</h1>
      <p>
        <a href="/console">Back to your jobs.</a>
      </p>
    </>
  );
}

export function App() {
  return (
    <SessionProvider>
      <LocationProvider scope="/console">
        <Nav />
        <main id="main" tabIndex={-1}>
          <ErrorBoundary>
            <Router>
              <Route path="/console" component={JobsRoute} />
              <Route path="/console/submit" component={SubmitRoute} />
              <Route path="/console/jobs/:id" component={JobRoute} />
              <Route path="/console/operator" component={OperatorPage} />
              <Route default component={NotFound} />
            </Router>
          </ErrorBoundary>
        </main>
      </LocationProvider>
    </SessionProvider>
  );
}
