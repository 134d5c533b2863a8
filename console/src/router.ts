import { h, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

// A small history router for the console's few pages. The server answers index.html for exactly
// these paths (src/console/console-static.ts CONSOLE_ROUTES); keep both lists in step.

export type Route =
  | { page: 'flows' }
  | { page: 'flow-new'; template?: string }
  | { page: 'flow'; id: string }
  | { page: 'runs'; id: string; status?: string }
  | { page: 'run'; id: string }
  | { page: 'secrets' }
  | { page: 'destinations' }
  | { page: 'keys' }
  | { page: 'not-found' };

export function parseRoute(pathname: string, search: string): Route {
  const q = new URLSearchParams(search);
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'flows')) return { page: 'flows' };
  if (parts[0] === 'flows' && parts[1] === 'new' && parts.length === 2)
    return { page: 'flow-new', template: q.get('template') ?? undefined };
  if (parts[0] === 'flows' && parts.length === 2) return { page: 'flow', id: parts[1] };
  if (parts[0] === 'flows' && parts.length === 3 && parts[2] === 'runs')
    return { page: 'runs', id: parts[1], status: q.get('status') ?? undefined };
  if (parts[0] === 'runs' && parts.length === 2) return { page: 'run', id: parts[1] };
  if (parts.length === 1 && parts[0] === 'secrets') return { page: 'secrets' };
  if (parts.length === 1 && parts[0] === 'keys') return { page: 'keys' };
  if (parts.length === 1 && parts[0] === 'destinations') return { page: 'destinations' };
  return { page: 'not-found' };
}

const NAVIGATE = 'hookflow:navigate';

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  navigations += 1;
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATE));
}

let navigations = 0;
let leaveGuard: (() => boolean) | null = null;

/** While set (a form with unsaved changes), links ask before leaving the page; null clears it. */
export function setLeaveGuard(guard: (() => boolean) | null): void {
  leaveGuard = guard;
}

/** The current location; `n` counts navigations, so following a link to the page shown reloads it. */
export function useLocation(): { pathname: string; search: string; n: number } {
  const read = () => ({ pathname: location.pathname, search: location.search, n: navigations });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const update = () => setLoc(read());
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATE, update);
    };
  }, []);
  return loc;
}

/** An ordinary link (open in a new tab works) that moves within the console without a reload. */
export function Link(props: {
  href: string;
  class?: string;
  children: ComponentChildren;
  'aria-current'?: 'page' | undefined;
}) {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (leaveGuard && !leaveGuard()) return;
    navigate(props.href);
  };
  return h('a', { ...props, onClick }, props.children);
}
