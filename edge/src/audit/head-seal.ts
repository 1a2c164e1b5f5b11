import { fromBase64Url, toBase64Url } from '../auth/bytes.ts';
import { deriveKey } from '../auth/derive-key.ts';
import { KEY_ID_PATTERN, SecretKeyring } from '../auth/secret-keys.ts';

export interface AuditHead {
  chain: string;
  seq: number;
  hash: string;
}

const LABEL = 'keel/audit-head';

/**
 * Seals the head of each audit chain (its last seq and hash) with HMAC-SHA256 under a key
 * derived from KEEL_SECRET_KEY. Whoever can write to the database but does not hold the
 * secret cannot move the head back after deleting the last rows, nor forge a new one.
 * The key is derived with its own HKDF label, so it is unrelated to the SecretBox key.
 *
 * A seal is `v2.<kid>.<mac>`: it names the secret that made it (secret-keys.ts) and is
 * checked under that secret while it is accepted, so the chain still verifies during a
 * rotation. The next append re-seals the head under the current secret; `scripts/rotate-secret`
 * re-seals the heads of chains nobody writes to. Seals made before key ids (`v1.<mac>`) are
 * checked under each accepted secret.
 */
export class AuditHeadSeal {
  private readonly keyring: SecretKeyring;

  constructor(keys: SecretKeyring | Uint8Array<ArrayBuffer>) {
    this.keyring = SecretKeyring.of(keys);
  }

  async seal(head: AuditHead): Promise<string> {
    const [sealing] = await this.keys();
    const mac = await crypto.subtle.sign('HMAC', sealing!.key, message(head));
    return `v2.${sealing!.kid}.${toBase64Url(new Uint8Array(mac))}`;
  }

  /** Checked by WebCrypto, in time that does not depend on where a forged seal differs. */
  async check(head: AuditHead, seal: string): Promise<boolean> {
    const parts = seal.split('.');
    const keys = await this.keys();
    let candidates: CryptoKey[];
    let mac: string | undefined;
    if (parts[0] === 'v2' && parts.length === 3 && KEY_ID_PATTERN.test(parts[1]!)) {
      candidates = keys.filter((k) => k.kid === parts[1]).map((k) => k.key);
      mac = parts[2];
    } else if (parts[0] === 'v1' && parts.length === 2) {
      candidates = keys.map((k) => k.key);
      mac = parts[1];
    } else {
      return false;
    }
    if (!mac) return false;
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = fromBase64Url(mac);
    } catch {
      return false;
    }
    for (const key of candidates) {
      if (await crypto.subtle.verify('HMAC', key, bytes, message(head))) return true;
    }
    return false;
  }

  /** The key id a seal names; undefined for one made before key ids, or not a seal at all. */
  static keyIdOf(seal: string): string | undefined {
    const parts = seal.split('.');
    return parts[0] === 'v2' && parts.length === 3 && KEY_ID_PATTERN.test(parts[1]!) ? parts[1] : undefined;
  }

  private keys() {
    return this.keyring.derive(LABEL, (secret) =>
      deriveKey(secret, LABEL, { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['sign', 'verify']),
    );
  }
}

/** Length-prefixed fields: no two different heads encode to the same bytes. */
function message(head: AuditHead): Uint8Array<ArrayBuffer> {
  const fields = [head.chain, String(head.seq), head.hash];
  return new TextEncoder().encode(fields.map((f) => `${f.length}:${f}`).join('|'));
}
