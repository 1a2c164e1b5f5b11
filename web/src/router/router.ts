import { type Accessor, createSignal } from 'solid-js';

export interface AppLocation {
  path: string;
  query: URLSearchParams;
}

export interface Router {
  location: Accessor<AppLocation>;
  navigate(to: string, options?: { replace?: boolean }): void;
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
  const [location, setLocation] = createSignal(read());
  host.addEventListener('popstate', () => setLocation(read()));

  return {
    location,
    navigate(to, options = {}) {
      if (options.replace) host.history.replaceState(null, '', to);
      else host.history.pushState(null, '', to);
      setLocation(read());
    },
  };
}
