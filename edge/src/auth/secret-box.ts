import { fromBase64Url, toBase64Url } from './bytes.ts';
import { deriveKey } from './derive-key.ts';
import { KEY_ID_PATTERN, SecretKeyring } from './secret-keys.ts';

const LABEL = 'keel/secret-box';

/**
 * Encrypts secrets at rest (signing keys, server credentials) with AES-256-GCM under a key
 * derived from KEEL_SECRET_KEY. The `purpose` is bound as associated data, so a ciphertext
 * cannot be moved from one use to another.
 *
 * A sealed value is `v2.<kid>.<iv>.<ct>`: the key id names the secret that sealed it (see
 * secret-keys.ts), so after KEEL_SECRET_KEY changes the value still opens under the old
 * secret while it is accepted, and `scripts/rotate-secret` can tell what is left to re-seal.
 * Values sealed before key ids (`v1.<iv>.<ct>`) are tried under each accepted secret.
 */
export class SecretBox {
  private readonly keyring: SecretKeyring;

  constructor(keys: SecretKeyring | Uint8Array<ArrayBuffer>) {
    this.keyring = SecretKeyring.of(keys);
  }

  async seal(plaintext: string, purpose: string): Promise<string> {
    const [sealing] = await this.keys();
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(purpose) },
      sealing!.key,
      new TextEncoder().encode(plaintext),
    );
    return `v2.${sealing!.kid}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ct))}`;
  }

  /** Throws when the value is malformed, sealed under a secret not accepted, altered, or for another purpose. */
  async open(sealed: string, purpose: string): Promise<string> {
    const parts = sealed.split('.');
    const keys = await this.keys();
    if (parts[0] === 'v2' && parts.length === 4) {
      const [, kid, iv, ct] = parts as [string, string, string, string];
      if (!KEY_ID_PATTERN.test(kid)) throw new Error('sealed secret has a malformed key id');
      const key = keys.find((k) => k.kid === kid);
      if (!key) throw new Error(`sealed secret is under key id ${kid}, which is not accepted here`);
      return decrypt(key.key, iv, ct, purpose);
    }
    if (parts[0] === 'v1' && parts.length === 3) {
      const [, iv, ct] = parts as [string, string, string];
      for (const key of keys) {
        try {
          return await decrypt(key.key, iv, ct, purpose);
        } catch {
          // Another accepted secret may have sealed it.
        }
      }
      throw new Error('sealed secret opens under no accepted key');
    }
    throw new Error('sealed secret has an unknown format');
  }

  /** The id of the secret that seals now. */
  async sealingKeyId(): Promise<string> {
    return (await this.keyring.keyIds())[0]!;
  }

  /** The key id a sealed value names; undefined for one sealed before key ids, or not sealed at all. */
  static keyIdOf(sealed: string): string | undefined {
    const parts = sealed.split('.');
    return parts[0] === 'v2' && parts.length === 4 && KEY_ID_PATTERN.test(parts[1]!) ? parts[1] : undefined;
  }

  private keys() {
    return this.keyring.derive(LABEL, (secret) =>
      deriveKey(secret, LABEL, { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt']),
    );
  }
}

async function decrypt(key: CryptoKey, iv: string, ct: string, purpose: string): Promise<string> {
  const pt = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: fromBase64Url(iv), additionalData: new TextEncoder().encode(purpose) },
    key,
    fromBase64Url(ct),
  );
  return new TextDecoder().decode(pt);
}
