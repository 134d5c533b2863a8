import { useEffect, useState } from 'preact/hooks';
import { onUnauthorized, session } from './api/client';
import { PageTitle } from './components/common';
import { DestinationsPage } from './pages/destinations.page';
import { FlowBuilderPage } from './pages/flow-builder.page';
import { FlowsPage } from './pages/flows.page';
import { KeysPage } from './pages/keys.page';
import { RunPage } from './pages/run.page';
import { RunsPage } from './pages/runs.page';
import { SecretsPage } from './pages/secrets.page';
import { SignInPage } from './pages/sign-in.page';
import { Link, parseRoute, useLocation, type Route } from './router';

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'flows':
      return <FlowsPage />;
    case 'flow-new':
      return <FlowBuilderPage template={route.template} />;
    case 'flow':
      return <FlowBuilderPage id={route.id} />;
    case 'runs':
      return <RunsPage flowId={route.id} status={route.status} />;
    case 'run':
      return <RunPage id={route.id} />;
    case 'secrets':
      return <SecretsPage />;
    case 'keys':
      return <KeysPage />;
    case 'destinations':
      return <DestinationsPage />;
    case 'not-found':
      return (
        <>
          <PageTitle>Not found</PageTitle>
          <p>
            There is no such page. <Link href="/flows">Go to the flows</Link>.
          </p>
        </>
      );
  }
}

/**
 * When a page mounts afresh (and loads its data again). One builder for "new" and "saved", so
 * creating a flow keeps the form and its notice; the runs page follows its status filter itself;
 * other pages reload on every navigation, so a click on "Flows" shows the flows as they are now.
 */
function pageKey(route: Route, n: number): string {
  if (route.page === 'flow-new' || route.page === 'flow') return 'builder';
  if (route.page === 'runs') return `runs:${route.id}`;
  return `${route.page}:${'id' in route ? route.id : ''}:${n}`;
}

const SECTIONS: Array<[string, string, (r: Route) => boolean]> = [
  ['/flows', 'Flows', (r) => ['flows', 'flow-new', 'flow', 'runs', 'run'].includes(r.page)],
  ['/destinations', 'Destinations', (r) => r.page === 'destinations'],
  ['/secrets', 'Secrets', (r) => r.page === 'secrets'],
  ['/keys', 'API keys', (r) => r.page === 'keys'],
];

export function App() {
  const loc = useLocation();
  const route = parseRoute(loc.pathname, loc.search);
  const [signedIn, setSignedIn] = useState(() => session.key() !== null);
  const [reason, setReason] = useState('');

  useEffect(
    () =>
      onUnauthorized(() => {
        session.signOut();
        setReason('The API refused the key (revoked or wrong): sign in again.');
        setSignedIn(false);
      }),
    [],
  );

  const signOut = () => {
    session.signOut();
    setReason('Signed out.');
    setSignedIn(false);
  };

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/flows" class="brand">
          <span aria-hidden="true" class="logo" /> hookflow
        </Link>
        {signedIn ? (
          <nav aria-label="Main">
            <ul>
              {SECTIONS.map(([href, label, active]) => (
                <li key={href}>
                  <Link href={href} aria-current={active(route) ? 'page' : undefined}>
                    {label}
                  </Link>
                </li>
              ))}
              <li>
                <button type="button" class="link" onClick={signOut}>
                  Sign out
                </button>
              </li>
            </ul>
          </nav>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        {signedIn ? (
          <Page key={pageKey(route, loc.n)} route={route} />
        ) : (
          <SignInPage reason={reason} onSignedIn={() => (setReason(''), setSignedIn(true))} />
        )}
      </main>
    </>
  );
}
