import { createHash } from 'node:crypto';

/** The runner's one SHA-256: hex of the bytes (a string is hashed as UTF-8). */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
