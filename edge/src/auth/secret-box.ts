import { fromBase64Url, toBase64Url } from './bytes.ts';
import { deriveKey } from './derive-key.ts';

/**
 * Encrypts secrets at rest (signing keys now; runner credentials and server keys later)
 * with AES-256-GCM under a key derived from KEEL_SECRET_KEY. The `purpose` is bound as
 * associated data, so a ciphertext cannot be moved from one use to another.
 */
export class SecretBox {
  private keyPromise: Promise<CryptoKey>;

  constructor(secretKey: Uint8Array<ArrayBuffer>) {
    this.keyPromise = deriveKey(secretKey, 'keel/secret-box', { name: 'AES-GCM', length: 256 }, [
      'encrypt',
      'decrypt',
    ]);
  }

  async seal(plaintext: string, purpose: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(purpose) },
      await this.keyPromise,
      new TextEncoder().encode(plaintext),
    );
    return `v1.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ct))}`;
  }

  async open(sealed: string, purpose: string): Promise<string> {
    const [version, iv, ct] = sealed.split('.');
    if (version !== 'v1' || !iv || !ct) throw new Error('sealed secret has an unknown format');
    const pt = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64Url(iv), additionalData: new TextEncoder().encode(purpose) },
      await this.keyPromise,
      fromBase64Url(ct),
    );
    return new TextDecoder().decode(pt);
  }
}
