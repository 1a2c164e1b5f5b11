import { createContext, useContext } from 'solid-js';
import type { ThemeStore } from './theme-store.ts';

export const ThemeContext = createContext<ThemeStore>();

export function useTheme(): ThemeStore {
  const theme = useContext(ThemeContext);
  if (theme === undefined) throw new Error('useTheme() needs a <ThemeContext.Provider> above it');
  return theme;
}
