import { toBase64Url } from './bytes.ts';

/** A key derived for one purpose from one secret, with the public id of that secret. */
export interface DerivedKey<T> {
  kid: string;
  key: T;
}

/** What a key id looks like: 12 base64url characters (72 bits). */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{12}$/;

/**
 * The secrets an edge holds: the one that seals (KEEL_SECRET_KEY) and, during a rotation,
 * those it only accepts when opening or checking (KEEL_SECRET_KEY_PREVIOUS and
 * KEEL_SECRET_KEY_NEXT). Each secret has a key id, so a sealed value names the secret that
 * sealed it and is opened under that one, not tried against every key.
 *
 * Keys derived for a purpose are remembered here once derived: the keyring lives in the
 * configuration, which workerd keeps across requests. Only finished values are kept, never a
 * pending promise, since a promise begun by one workerd request must not be awaited by
 * another (two concurrent first requests may each derive; the work is the same).
 */
export class SecretKeyring {
  readonly sealing: Uint8Array<ArrayBuffer>;
  /** The sealing secret first, then the accepted ones in the order given, without repeats. */
  readonly secrets: readonly Uint8Array<ArrayBuffer>[];
  private readonly derived = new Map<string, readonly DerivedKey<unknown>[]>();
  private kids: readonly string[] | undefined;

  constructor(sealing: Uint8Array<ArrayBuffer>, accepted: readonly Uint8Array<ArrayBuffer>[] = []) {
    this.sealing = sealing;
    const secrets = [sealing];
    for (const s of accepted) {
      if (!secrets.some((t) => sameBytes(s, t))) secrets.push(s);
    }
    this.secrets = secrets;
  }

  /** Seals and opens with this one secret only (tests, and callers given raw bytes). */
  static of(keys: SecretKeyring | Uint8Array<ArrayBuffer>): SecretKeyring {
    return keys instanceof SecretKeyring ? keys : new SecretKeyring(keys);
  }

  /**
   * Every secret's key for one purpose, the sealing one first. One `label` is one derivation:
   * the first call's `derive` is remembered under it.
   */
  async derive<T>(
    label: string,
    derive: (secret: Uint8Array<ArrayBuffer>) => Promise<T>,
  ): Promise<readonly DerivedKey<T>[]> {
    const known = this.derived.get(label);
    if (known) return known as readonly DerivedKey<T>[];
    const kids = await this.keyIds();
    const keys = await Promise.all(
      this.secrets.map(async (secret, i) => ({ kid: kids[i]!, key: await derive(secret) })),
    );
    this.derived.set(label, keys);
    return keys;
  }

  /** The ids of the secrets, the sealing one first. */
  async keyIds(): Promise<readonly string[]> {
    this.kids ??= await Promise.all(this.secrets.map(keyIdOf));
    return this.kids;
  }
}

/**
 * The public id of a secret: HKDF-SHA256 under its own label, cut to 72 bits. It tells two
 * secrets apart and reveals nothing of either (nor of any key derived from them, whose
 * labels differ).
 */
export async function keyIdOf(secret: Uint8Array<ArrayBuffer>): Promise<string> {
  const base = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: new TextEncoder().encode('keel/key-id'),
      info: new TextEncoder().encode('v1'),
    },
    base,
    72,
  );
  return toBase64Url(new Uint8Array(bits));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
