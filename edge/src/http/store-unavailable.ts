/**
 * Whether an error means Redis or PostgreSQL could not be reached (restarting, failing over,
 * refusing connections), rather than a fault in the request or in Keel: such a request is
 * answered 503 store_unavailable, and the same request succeeds once the store is back.
 */
export function isStoreUnavailable(err: unknown): boolean {
  // Drivers and ORMs wrap what the socket said; the cause chain holds it.
  for (let e = err, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) {
    if (REDIS_DOWN_NAMES.has(e.name) || REDIS_DOWN_MESSAGE.test(e.message)) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (SOCKET_CODES.has(code) || POSTGRES_DOWN_CODE.test(code))) return true;
  }
  return false;
}

/** ioredis: a command given up after its reconnect attempts, or sent on a closed connection. */
const REDIS_DOWN_NAMES = new Set(['MaxRetriesPerRequestError']);
const REDIS_DOWN_MESSAGE =
  /^(Connection is closed\.|Command timed out|Stream isn't writeable|LOADING |READONLY |MASTERDOWN |TRYAGAIN |All sentinels are unreachable|None of the sentinels are available)/;

/** Node sockets, and postgres.js's own codes for a connection that went away. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception), and 57P01–57P03 (the server is
 * shutting down, crashed, or not yet accepting connections).
 */
const POSTGRES_DOWN_CODE = /^(08...|57P0[1-3])$/;
