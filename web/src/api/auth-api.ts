import {
  type LoginRequest,
  LoginResponse,
  MeResponse,
  type SignupRequest,
  SignupResponse,
} from '@keel/contract/auth';
import { ApiError } from './api-error.ts';
import type { ApiClient, TokenGrant } from './client.ts';

/** The auth routes of the API, with the client's token handling wired in. */
export interface AuthApi {
  login(credentials: LoginRequest): Promise<LoginResponse>;
  signup(request: SignupRequest): Promise<SignupResponse>;
  refresh(): Promise<TokenGrant>;
  me(): Promise<MeResponse>;
  /** Ends the session on the server (revoking the refresh token), then forgets it here. */
  logout(): Promise<void>;
  /** Forgets the local access token, e.g. when it turned out to belong to nobody. */
  forget(): void;
  onSessionExpired(listener: () => void): () => void;
}

export function createAuthApi(client: ApiClient): AuthApi {
  return {
    async login(credentials) {
      const response = await client.request('POST', '/api/auth/login', {
        body: credentials,
        schema: LoginResponse,
        authenticate: false,
        retryOnUnauthorized: false,
      });
      client.useGrant(response);
      return response;
    },

    async signup(request) {
      const response = await client.request('POST', '/api/auth/signup', {
        body: request,
        schema: SignupResponse,
        authenticate: false,
        retryOnUnauthorized: false,
      });
      client.useGrant(response);
      return response;
    },

    refresh: () => client.refresh(),

    me: () => client.request('GET', '/api/auth/me', { schema: MeResponse }),

    async logout() {
      try {
        await client.request('POST', '/api/auth/logout', { body: {} });
      } catch (error) {
        // A 401 means the server already holds no session for us: that is the outcome we wanted.
        if (!(error instanceof ApiError && error.status === 401)) throw error;
      }
      client.forgetGrant();
    },

    forget: () => client.forgetGrant(),
    onSessionExpired: (listener) => client.onSessionExpired(listener),
  };
}
