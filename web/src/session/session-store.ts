import type { LoginRequest, MeResponse, SignupRequest } from '@keel/contract/auth';
import { type Accessor, createSignal } from 'solid-js';
import { ApiError } from '../api/api-error.ts';
import type { AuthApi } from '../api/auth-api.ts';
import { rolePermissions } from './permissions.ts';

/**
 * Why the person is looking at the sign-in page, when it is worth telling them:
 * `expired` their session ended while they were using Keel; `unavailable` Keel could not be asked whether
 * they still had one (network down, server starting), so signing in may fail too.
 */
export type SignedOutNotice = 'expired' | 'unavailable';

export type SessionState =
  | { status: 'loading' }
  | { status: 'signedOut'; notice?: SignedOutNotice }
  | ({ status: 'signedIn' } & MeResponse);

export type SignedInState = Extract<SessionState, { status: 'signedIn' }>;

export interface SessionStore {
  state: Accessor<SessionState>;
  /** Restores a session from the refresh cookie, if there is one. Call once at start-up. */
  start(): Promise<void>;
  /** Rejects with an ApiError the sign-in form can show; the state changes only on success. */
  signIn(credentials: LoginRequest): Promise<void>;
  signUp(request: SignupRequest): Promise<void>;
  /** Rejects (and stays signed in) when the server could not be told, so nobody believes a live session ended. */
  signOut(): Promise<void>;
  dispose(): void;
}

/**
 * Holds only signals and plain async functions (no effects), so it runs and is tested in Node, where
 * Solid's server build gives signals without reactivity.
 */
export function createSessionStore(auth: AuthApi): SessionStore {
  const [state, setState] = createSignal<SessionState>({ status: 'loading' });

  const unsubscribe = auth.onSessionExpired(() => {
    if (state().status === 'signedIn') setState({ status: 'signedOut', notice: 'expired' });
  });

  function signedIn(me: MeResponse): void {
    setState({
      status: 'signedIn',
      user: me.user,
      organization: me.organization,
      role: me.role,
      installAdmin: me.installAdmin,
      permissions: me.permissions,
    });
  }

  async function start(): Promise<void> {
    setState({ status: 'loading' });
    try {
      await auth.refresh();
      signedIn(await auth.me());
    } catch (error) {
      auth.forget();
      setState(isNoSession(error) ? { status: 'signedOut' } : { status: 'signedOut', notice: 'unavailable' });
    }
  }

  async function signIn(credentials: LoginRequest): Promise<void> {
    await auth.login(credentials);
    // Login names the user but not their organization or role; /me is the one place that says both.
    signedIn(await auth.me());
  }

  async function signUp(request: SignupRequest): Promise<void> {
    const joined = await auth.signup(request);
    // The session just made carries no token scopes: its permissions are its role's.
    signedIn({ ...joined, permissions: rolePermissions(joined.role) });
  }

  async function signOut(): Promise<void> {
    await auth.logout();
    setState({ status: 'signedOut' });
  }

  return { state, start, signIn, signUp, signOut, dispose: unsubscribe };
}

/** The server answered and said "nobody is signed in" (as opposed to not answering usefully). */
function isNoSession(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 401 || error.status === 403);
}
