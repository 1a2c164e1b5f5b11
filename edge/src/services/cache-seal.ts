// node:crypto's HMAC, not WebCrypto's: every request opens two or three seals, and WebCrypto
// runs each on the thread pool (30-75 µs here, against 3-10 µs in line). workerd has it too
// (nodejs_compat).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { fromBase64Url, toBase64Url } from '../auth/bytes.ts';
import { deriveKeyBytes } from '../auth/derive-key.ts';
import { SecretKeyring } from '../auth/secret-keys.ts';

const LABEL = 'keel/redis-cache';
const VERSION = 's1';
/** `s1.` + 43 characters of base64url MAC + `.`: the value follows at a fixed offset. */
const HEAD = VERSION.length + 1 + 43 + 1;

/**
 * Binds what the edge keeps in Redis and later trusts to decide access (a session's role, a
 * workspace's organization, who owns an execution, a terminal or an AI stream) to the
 * server key: HMAC-SHA256 under a key derived from KEEL_SECRET_KEY, over the Redis key and
 * the value. Whoever can write to Redis but does not hold the secret can neither forge an
 * entry nor move a genuine one to another key; a value that fails the check is read as
 * absent, so the caller falls back to the database or answers "not found".
 *
 * The sealed form is `s1.<mac>.<value>`, a plain string: scripts that compare entries
 * byte for byte (ai/warm-start) compare sealed ones.
 *
 * During a rotation of KEEL_SECRET_KEY an entry is checked under the sealing secret first,
 * then under each accepted one (a forged entry costs a few more MACs, a genuine one none).
 * Reading an entry sealed under an older secret as a miss would be fine for what has a
 * database behind it (sessions, workspace rows), but terminal, execution and AI stream
 * records live only in Redis: while edges roll from one secret to the other, a miss would
 * make a running command or open terminal "not found". Entries carry no key id; they expire
 * within a day (STREAM_TTL_SECONDS), so once an old secret is no longer accepted its entries
 * simply read as absent.
 */
export class CacheSeal {
  private readonly keyring: SecretKeyring;

  constructor(keys: SecretKeyring | Uint8Array<ArrayBuffer>) {
    this.keyring = SecretKeyring.of(keys);
  }

  async seal(redisKey: string, value: string): Promise<string> {
    const [sealing] = await this.keys();
    const mac = this.mac(sealing!.key, redisKey, value);
    return `${VERSION}.${toBase64Url(mac)}.${value}`;
  }

  /** The value, when `sealed` was sealed for this very key; undefined for anything else. */
  async open(redisKey: string, sealed: string | null | undefined): Promise<string | undefined> {
    if (!sealed || sealed.length < HEAD || !sealed.startsWith(`${VERSION}.`) || sealed[HEAD - 1] !== '.') {
      return undefined;
    }
    let mac: Uint8Array;
    try {
      mac = fromBase64Url(sealed.slice(VERSION.length + 1, HEAD - 1));
    } catch {
      return undefined;
    }
    const value = sealed.slice(HEAD);
    for (const { key } of await this.keys()) {
      const expected = this.mac(key, redisKey, value);
      // Compared in time that does not depend on where a forged MAC differs.
      if (mac.length === expected.length && timingSafeEqual(mac, expected)) return value;
    }
    return undefined;
  }

  private keys() {
    return this.keyring.derive(LABEL, (secret) => deriveKeyBytes(secret, LABEL));
  }

  private mac(key: Uint8Array, redisKey: string, value: string): Uint8Array {
    return createHmac('sha256', key).update(message(redisKey, value)).digest();
  }
}

/** Length-prefixed key: no key and value pair encodes to the same bytes as another. */
function message(redisKey: string, value: string): string {
  return `${redisKey.length}:${redisKey}|${value}`;
}
