/**
 * Encoding and hashing helpers shared by the edge. Web APIs, and node:crypto's hash, which
 * workerd provides too (`nodejs_compat`), so they run on both runtimes.
 */
import { createHash } from 'node:crypto';

export function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (ch) => ch.charCodeAt(0));
}

export function toBase64(bytes: Uint8Array): string {
  // Chunks of 32 KiB: one fromCharCode call per chunk instead of a string append per byte.
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000) as unknown as number[]);
  }
  return btoa(s);
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  // A plain loop: Uint8Array.from with a mapping function walks an iterator per character,
  // which shows in the profile of every file read.
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function randomToken(prefix: string, bytes = 32): string {
  return `${prefix}_${toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)))}`;
}

/**
 * The edge's one SHA-256 (hex; a string is hashed as UTF-8). Synchronous: Web Crypto's digest
 * is a trip through the thread pool, as long as the rest of a warm start.
 */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Compares in time that depends only on the length, not on where the inputs differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
