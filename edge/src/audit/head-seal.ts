import { fromBase64Url, toBase64Url } from '../auth/bytes.ts';
import { deriveKey } from '../auth/derive-key.ts';

export interface AuditHead {
  chain: string;
  seq: number;
  hash: string;
}

/**
 * Seals the head of each audit chain (its last seq and hash) with HMAC-SHA256 under a key
 * derived from KEEL_SECRET_KEY. Whoever can write to the database but does not hold the
 * secret cannot move the head back after deleting the last rows, nor forge a new one.
 * The key is derived with its own HKDF label, so it is unrelated to the SecretBox key.
 */
export class AuditHeadSeal {
  private readonly keyPromise: Promise<CryptoKey>;

  constructor(secretKey: Uint8Array<ArrayBuffer>) {
    this.keyPromise = deriveKey(
      secretKey,
      'keel/audit-head',
      { name: 'HMAC', hash: 'SHA-256', length: 256 },
      ['sign', 'verify'],
    );
  }

  async seal(head: AuditHead): Promise<string> {
    const mac = await crypto.subtle.sign('HMAC', await this.keyPromise, message(head));
    return `v1.${toBase64Url(new Uint8Array(mac))}`;
  }

  /** Checked by WebCrypto, in time that does not depend on where a forged seal differs. */
  async check(head: AuditHead, seal: string): Promise<boolean> {
    const [version, mac] = seal.split('.');
    if (version !== 'v1' || !mac) return false;
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = fromBase64Url(mac);
    } catch {
      return false;
    }
    return crypto.subtle.verify('HMAC', await this.keyPromise, bytes, message(head));
  }
}

/** Length-prefixed fields: no two different heads encode to the same bytes. */
function message(head: AuditHead): Uint8Array<ArrayBuffer> {
  const fields = [head.chain, String(head.seq), head.hash];
  return new TextEncoder().encode(fields.map((f) => `${f.length}:${f}`).join('|'));
}
