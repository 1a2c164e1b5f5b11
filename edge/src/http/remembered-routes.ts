/**
 * Hono's router, with what each method and path matched kept and given again.
 *
 * Why: Keel's routes need Hono's TrieRouter (its RegExpRouter cannot keep a static route such as
 * `/api/workspaces/policy` ahead of `/api/workspaces/:id`, so Hono's SmartRouter falls back to the
 * trie), and the trie is walked and its finds sorted on every request: measured on the cached
 * workspace list (bench/workspace-list.ts), about 2 KB of garbage and a tenth of Keel's own time
 * per request. What a method and path match cannot change once routes are in (Hono builds its
 * matcher on the first match and refuses routes after it), and Hono only reads the match (the
 * handlers and their raw parameters, decoded per request). Paths with ids in them are kept too,
 * at most MAX_KEPT per method, after which that method's are forgotten at once and kept again.
 */

import type { Result, Router } from 'hono/router';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';

const MAX_KEPT = 2_000;
/** Longer paths are matched every time: they are not what a client repeats. */
const MAX_PATH = 256;

export class RememberedRoutes<T> implements Router<T> {
  name = 'RememberedRoutes';
  private readonly kept = new Map<string, Map<string, Result<T>>>();
  /** Hono's own router (the one `new Hono()` makes), which matches what is not kept. */
  constructor(
    private readonly router: Router<T> = new SmartRouter({ routers: [new RegExpRouter(), new TrieRouter()] }),
  ) {}

  add(method: string, path: string, handler: T): void {
    this.kept.clear();
    this.router.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    let paths = this.kept.get(method);
    const known = paths?.get(path);
    if (known) return known;
    const found = this.router.match(method, path);
    if (path.length <= MAX_PATH) {
      if (!paths) {
        paths = new Map();
        this.kept.set(method, paths);
      } else if (paths.size >= MAX_KEPT) paths.clear();
      paths.set(path, found);
    }
    return found;
  }
}
