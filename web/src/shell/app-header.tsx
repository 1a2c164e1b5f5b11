import { useLocation } from '@solidjs/router';
import { For, type JSX } from 'solid-js';
import { isOrgAdmin } from '../admin/admin-access.ts';
import { Brand } from '../components/brand.tsx';
import { Button } from '../components/button.tsx';
import { FormAlert } from '../components/form-alert.tsx';
import { createFormAction } from '../forms/form-action.ts';
import { useSession } from '../session/session-context.ts';
import { ThemeToggle } from '../theme/theme-toggle.tsx';

const NAV: ReadonlyArray<{ href: string; label: string; only?: 'installAdmin' | 'orgAdmin' }> = [
  { href: '/', label: 'Workspaces' },
  { href: '/settings', label: 'Settings' },
  { href: '/admin', label: 'Admin', only: 'orgAdmin' },
  { href: '/install', label: 'Install', only: 'installAdmin' },
];

/** The bar above every signed-in page except the IDE (which has its own, denser one). */
export function AppHeader(props: { children?: JSX.Element }) {
  const session = useSession();
  const location = useLocation();
  const signOut = createFormAction(() => session.signOut(), []);
  // Install settings belong to install administrators only, the admin area to the organization's
  // admins; the server refuses anyone else either way.
  const isInstallAdmin = () => {
    const state = session.state();
    return state.status === 'signedIn' && state.installAdmin;
  };

  return (
    <header class="app-header">
      <div class="app-header-start">
        <a href="/" class="brand-link" aria-label="Keel: workspaces">
          <Brand />
        </a>
        <nav aria-label="Main" class="app-nav">
          <For
            each={NAV.filter(
              (item) =>
                item.only === undefined ||
                (item.only === 'installAdmin' ? isInstallAdmin() : isOrgAdmin(session.state())),
            )}
          >
            {(item) => (
              <a
                href={item.href}
                class="app-nav-link"
                aria-current={
                  location.pathname === item.href ||
                  (item.href !== '/' && location.pathname.startsWith(`${item.href}/`))
                    ? 'page'
                    : undefined
                }
              >
                {item.label}
              </a>
            )}
          </For>
        </nav>
      </div>
      <div class="app-header-end">
        {props.children}
        <ThemeToggle />
        <form onSubmit={signOut.onSubmit} aria-label="Sign out">
          <Button
            type="submit"
            variant="secondary"
            size="small"
            pending={signOut.pending()}
            pendingLabel="Signing out…"
          >
            Sign out
          </Button>
        </form>
      </div>
      <div class="app-header-alert">
        <FormAlert error={signOut.error()} />
      </div>
    </header>
  );
}
