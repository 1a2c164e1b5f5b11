import { createContext, useContext } from 'solid-js';
import type { SessionStore } from './session-store.ts';

export const SessionContext = createContext<SessionStore>();

export function useSession(): SessionStore {
  const session = useContext(SessionContext);
  if (session === undefined) throw new Error('useSession() needs a <SessionContext.Provider> above it');
  return session;
}
