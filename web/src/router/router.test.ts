import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRoot } from 'solid-js';
import { createBrowserRouter, type HistoryHost } from './router.ts';

/** A history that behaves like the browser's: push/replace move the location, back() fires popstate. */
function fakeHistory(start: string) {
  const entries = [start];
  let index = 0;
  let onPop = () => {};
  const location = { pathname: '', search: '' };
  const sync = () => {
    const url = new URL(entries[index]!, 'http://x');
    location.pathname = url.pathname;
    location.search = url.search;
  };
  sync();
  const host: HistoryHost = {
    location,
    history: {
      pushState: (_d, _u, url) => {
        entries.splice(index + 1, Infinity, String(url));
        index += 1;
        sync();
      },
      replaceState: (_d, _u, url) => {
        entries[index] = String(url);
        sync();
      },
    },
    addEventListener: (_type, listener) => {
      onPop = listener;
    },
  };
  return {
    host,
    back() {
      index -= 1;
      sync();
      onPop();
    },
    url: () => entries[index],
  };
}

describe('router', () => {
  test('navigate pushes and updates the location', () => {
    const history = fakeHistory('/');
    const router = createRoot(() => createBrowserRouter(history.host));

    router.navigate('/workspaces/ws_1?x=1');

    assert.equal(router.location().path, '/workspaces/ws_1');
    assert.equal(router.location().query.get('x'), '1');
  });

  test('a leave guard can hold navigation, and force goes through', () => {
    const history = fakeHistory('/ide');
    const router = createRoot(() => createBrowserRouter(history.host));
    const asked: string[] = [];
    const remove = router.addLeaveGuard((to) => {
      asked.push(to);
      return false;
    });

    router.navigate('/');
    assert.equal(router.location().path, '/ide');
    router.navigate('/', { force: true });
    assert.equal(router.location().path, '/');
    remove();
    router.navigate('/other');

    assert.deepEqual(asked, ['/']);
    assert.equal(router.location().path, '/other');
  });

  test('a guarded back button puts the URL back and keeps the page', () => {
    const history = fakeHistory('/');
    const router = createRoot(() => createBrowserRouter(history.host));
    router.navigate('/ide');
    router.addLeaveGuard(() => false);

    history.back();

    assert.equal(router.location().path, '/ide');
    assert.equal(history.url(), '/ide');
  });
});
