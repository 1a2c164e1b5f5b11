import { createContext, useContext } from 'solid-js';
import type { Router } from './router.ts';

export const RouterContext = createContext<Router>();

export function useRouter(): Router {
  const router = useContext(RouterContext);
  if (router === undefined) throw new Error('useRouter() needs a <RouterContext.Provider> above it');
  return router;
}
