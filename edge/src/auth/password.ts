import { argon2idAsync } from '@noble/hashes/argon2.js';
import { constantTimeEqual, fromBase64, toBase64 } from './bytes.ts';

/**
 * argon2id at OWASP's first recommended setting (19 MiB, 2 passes, 1 lane). The pure-JS
 * implementation runs unchanged in workerd, where WebAssembly cannot be compiled at run
 * time and PBKDF2 is capped below OWASP's floor. Parameters are stored in each hash.
 */
export const PASSWORD_PARAMS = { m: 19_456, t: 2, p: 1 } as const;
const HASH_BYTES = 32;
const SALT_BYTES = 16;

export interface Argon2Params {
  m: number;
  t: number;
  p: number;
}

const b64 = (bytes: Uint8Array) => toBase64(bytes).replace(/=+$/, '');

export async function hashPassword(
  password: string,
  params: Argon2Params = PASSWORD_PARAMS,
): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await argon2idAsync(password, salt, { ...params, dkLen: HASH_BYTES });
  return `$argon2id$v=19$m=${params.m},t=${params.t},p=${params.p}$${b64(salt)}$${b64(hash)}`;
}

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const m = PHC.exec(encoded);
  if (!m) return false;
  const params = { m: Number(m[1]), t: Number(m[2]), p: Number(m[3]) };
  const salt = fromBase64(padB64(m[4]!));
  const expected = fromBase64(padB64(m[5]!));
  const actual = await argon2idAsync(password, salt, { ...params, dkLen: expected.length });
  return constantTimeEqual(actual, expected);
}

/** True when a stored hash is weaker than today's parameters and should be redone at next sign-in. */
export function needsRehash(encoded: string): boolean {
  const m = PHC.exec(encoded);
  if (!m) return true;
  return (
    Number(m[1]) < PASSWORD_PARAMS.m || Number(m[2]) < PASSWORD_PARAMS.t || Number(m[3]) < PASSWORD_PARAMS.p
  );
}

/**
 * A well-formed hash of no one's password, with today's parameters: verifying an unknown
 * e-mail against it costs the same time as a wrong password, so timing reveals nothing.
 */
export const DECOY_PASSWORD_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$c29tZS1kZWNveS1zYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

function padB64(s: string): string {
  return s + '='.repeat((4 - (s.length % 4)) % 4);
}
