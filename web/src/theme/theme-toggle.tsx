import { Match, Switch } from 'solid-js';
import { IconButton } from '../components/icon-button.tsx';
import { MoonIcon, SunIcon, SystemThemeIcon } from '../components/icons.tsx';
import { useTheme } from './theme-context.ts';
import type { ThemePreference } from './theme-store.ts';

const NAMES: Record<ThemePreference, string> = { light: 'Light', dark: 'Dark', system: 'System' };

/** One button cycling light → dark → system; its name says both the current theme and the next. */
export function ThemeToggle() {
  const theme = useTheme();
  return (
    <IconButton
      label={`Theme: ${NAMES[theme.preference()]} (switch to ${NAMES[theme.next()]})`}
      onClick={() => theme.cycle()}
    >
      <Switch>
        <Match when={theme.preference() === 'light'}>
          <SunIcon />
        </Match>
        <Match when={theme.preference() === 'dark'}>
          <MoonIcon />
        </Match>
        <Match when={theme.preference() === 'system'}>
          <SystemThemeIcon />
        </Match>
      </Switch>
    </IconButton>
  );
}
