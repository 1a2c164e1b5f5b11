import { type Accessor, createSignal } from 'solid-js';

export interface AppLocation {
  path: string;
  query: URLSearchParams;
}

/**
 * Decides whether the person may leave the current page for `to`. Returning false keeps them here; the
 * guard is then expected to ask (e.g. "discard unsaved changes?") and call `navigate(to, { force: true })`.
 */
export type LeaveGuard = (to: string) => boolean;

export interface Router {
  location: Accessor<AppLocation>;
  navigate(to: string, options?: { replace?: boolean; force?: boolean }): void;
  addLeaveGuard(guard: LeaveGuard): () => void;
}

/** The slice of `window` the router needs; narrow so a test can hand in a fake. */
export interface HistoryHost {
  location: { pathname: string; search: string };
  history: Pick<History, 'pushState' | 'replaceState'>;
  addEventListener(type: 'popstate', listener: () => void): void;
}

/**
 * A path router on the History API. Real paths rather than `#/` hashes, because the server falls back to
 * index.html for unknown paths and invitation links read better as `/sign-up?invite=…`.
 */
export function createBrowserRouter(host: HistoryHost): Router {
  const read = (): AppLocation => ({
    path: host.location.pathname,
    query: new URLSearchParams(host.location.search),
  });
  const href = (location: AppLocation) => {
    const search = location.query.toString();
    return search === '' ? location.path : `${location.path}?${search}`;
  };
  const [location, setLocation] = createSignal(read());
  const guards = new Set<LeaveGuard>();
  const allowed = (to: string) => [...guards].every((guard) => guard(to));

  host.addEventListener('popstate', () => {
    const next = read();
    if (!allowed(href(next))) {
      // The browser has already moved; put the page's URL back so what is shown and the address agree.
      host.history.pushState(null, '', href(location()));
      return;
    }
    setLocation(next);
  });

  return {
    location,
    navigate(to, options = {}) {
      if (!options.force && !allowed(to)) return;
      if (options.replace) host.history.replaceState(null, '', to);
      else host.history.pushState(null, '', to);
      setLocation(read());
    },
    addLeaveGuard(guard) {
      guards.add(guard);
      return () => guards.delete(guard);
    },
  };
}
