// node:crypto's HMAC, as cache-seal.ts: every proxied request checks one (workerd has it, nodejs_compat).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { fromBase64Url, toBase64Url } from '../auth/bytes.ts';
import { deriveKeyBytes } from '../auth/derive-key.ts';
import type { SecretKeyring } from '../auth/secret-keys.ts';

/**
 * Signed preview tokens: HMAC-SHA256 under a key derived from KEEL_SECRET_KEY for previews only,
 * over a purpose and a JSON claim set. Three purposes, never interchangeable:
 *  - `exchange`: made on Keel's origin for a signed-in person, good for 60 s and once, carried in
 *    the redirect to the preview host, where it becomes
 *  - `cookie`: the preview host's own cookie (host-only), bound to the person's Keel session, which
 *    is checked on every request so a sign-out or removal ends it;
 *  - `link`: a shareable link to one port, good until its expiry for whoever holds it.
 * Each names its workspace and port: a token for 3000 opens nothing on 5173.
 * Form: `<base64url claims>.<base64url mac>`.
 */
const LABEL = 'keel/preview';

export const PreviewClaims = z.object({
  /** Workspace and port the token opens. */
  w: z.string(),
  p: z.number().int(),
  /** Expiry, epoch seconds. */
  e: z.number().int(),
  /** The person and their Keel session (exchange, cookie); absent for links. */
  u: z.string().optional(),
  o: z.string().optional(),
  s: z.string().optional(),
  /** A unique id (exchange: spent once; link: for the audit). */
  n: z.string().optional(),
  /** Cookie made from a link: holds no session, lives until the link's expiry. */
  l: z.literal(1).optional(),
});
export type PreviewClaims = z.infer<typeof PreviewClaims>;
export type PreviewPurpose = 'exchange' | 'cookie' | 'link';

export type VerifyResult = { ok: true; claims: PreviewClaims } | { ok: false; why: 'invalid' | 'expired' };

export class PreviewSigner {
  constructor(private readonly keyring: SecretKeyring) {}

  private keys() {
    return this.keyring.derive(LABEL, (secret) => deriveKeyBytes(secret, LABEL));
  }

  async sign(purpose: PreviewPurpose, claims: PreviewClaims): Promise<string> {
    const [sealing] = await this.keys();
    const body = toBase64Url(new TextEncoder().encode(JSON.stringify(claims)));
    return `${body}.${toBase64Url(mac(sealing!.key, purpose, body))}`;
  }

  /** Checks the MAC under every accepted secret, then the expiry (an expired token says so). */
  async verify(
    purpose: PreviewPurpose,
    token: string | undefined,
    nowMs = Date.now(),
  ): Promise<VerifyResult> {
    if (!token || token.length > 4096) return { ok: false, why: 'invalid' };
    const dot = token.indexOf('.');
    if (dot < 1 || dot !== token.lastIndexOf('.')) return { ok: false, why: 'invalid' };
    const body = token.slice(0, dot);
    let given: Uint8Array;
    try {
      given = fromBase64Url(token.slice(dot + 1));
    } catch {
      return { ok: false, why: 'invalid' };
    }
    let good = false;
    for (const { key } of await this.keys()) {
      const expected = mac(key, purpose, body);
      if (expected.length === given.length && timingSafeEqual(expected, given)) good = true;
    }
    if (!good) return { ok: false, why: 'invalid' };
    let claims: PreviewClaims;
    try {
      claims = PreviewClaims.parse(JSON.parse(new TextDecoder().decode(fromBase64Url(body))));
    } catch {
      return { ok: false, why: 'invalid' };
    }
    if (claims.e * 1000 <= nowMs) return { ok: false, why: 'expired' };
    return { ok: true, claims };
  }
}

function mac(key: Uint8Array, purpose: string, body: string): Buffer {
  return createHmac('sha256', key).update(`${purpose}\0${body}`).digest();
}

/** Signers by keyring: the keyring lives in the configuration, which outlives requests. */
const signers = new WeakMap<SecretKeyring, PreviewSigner>();
export function previewSigner(keyring: SecretKeyring): PreviewSigner {
  let s = signers.get(keyring);
  if (!s) {
    s = new PreviewSigner(keyring);
    signers.set(keyring, s);
  }
  return s;
}
