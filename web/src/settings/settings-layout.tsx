import { useLocation } from '@solidjs/router';
import { For, type ParentProps } from 'solid-js';
import { AppHeader } from '../shell/app-header.tsx';

export const SETTINGS_PAGES: ReadonlyArray<{ href: string; label: string }> = [
  { href: '/settings/profile', label: 'Profile' },
  { href: '/settings/password', label: 'Password' },
  { href: '/settings/sessions', label: 'Sessions' },
  { href: '/settings/tokens', label: 'Access tokens' },
  { href: '/settings/integrations', label: 'Integrations' },
  { href: '/settings/usage', label: 'Usage' },
];

/** The settings area's frame: the app's header, the area's navigation at the side, the page beside it. */
export function SettingsLayout(props: ParentProps) {
  const location = useLocation();
  return (
    <div class="app-shell">
      <AppHeader />
      <div class="admin-layout">
        <nav aria-label="Settings" class="admin-nav">
          <p class="admin-nav-title">Settings</p>
          <ul>
            <For each={SETTINGS_PAGES}>
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
