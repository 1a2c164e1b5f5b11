import { useLocation } from '@solidjs/router';
import { For, type ParentProps } from 'solid-js';
import { usePageTitle } from '../components/page-title.ts';
import { useSession } from '../session/session-context.ts';
import { AppHeader } from '../shell/app-header.tsx';
import { adminPagesFor } from './admin-access.ts';

/** The admin area's frame: the app's header, the area's own navigation at the side, the page beside it. */
export function AdminLayout(props: ParentProps) {
  const location = useLocation();
  const session = useSession();
  return (
    <div class="app-shell">
      <AppHeader />
      <div class="admin-layout">
        <nav aria-label="Admin" class="admin-nav">
          <p class="admin-nav-title">Admin</p>
          <ul>
            <For each={adminPagesFor(session.state())}>
              {(page) => (
                <li>
                  <a
                    href={page.href}
                    class="admin-nav-link"
                    aria-current={location.pathname.startsWith(page.href) ? 'page' : undefined}
                  >
                    {page.label}
                  </a>
                </li>
              )}
            </For>
          </ul>
        </nav>
        <main class="admin-main">{props.children}</main>
      </div>
    </div>
  );
}

/** What anyone else sees at an admin address: said plainly, rather than a page that fails to load. */
export function NotAllowedPage() {
  usePageTitle('Not allowed');
  return (
    <div class="app-shell">
      <AppHeader />
      <main class="app-main">
        <h1 class="page-title">Not allowed</h1>
        <div class="card">
          <p>
            The admin area is for the organization’s admins. Ask one of them if you need a server or a runner
            added.
          </p>
          <p>
            <a href="/">Back to your workspaces</a>
          </p>
        </div>
      </main>
    </div>
  );
}
