import { createHash } from 'node:crypto';
import { fromBase64 } from '../auth/bytes.ts';

/**
 * The fingerprint `ssh-keygen -l` prints for an OpenSSH public key line: `SHA256:` and the
 * unpadded base64 of the SHA-256 of the decoded key blob (the line's second field). Undefined
 * for a line whose blob is not base64.
 */
export function sshFingerprint(publicKeyLine: string): string | undefined {
  const blob = publicKeyLine.trim().split(/\s+/)[1];
  if (!blob) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(blob);
  } catch {
    return undefined;
  }
  if (bytes.length === 0) return undefined;
  return `SHA256:${createHash('sha256').update(bytes).digest('base64').replace(/=+$/, '')}`;
}

/**
 * What a person is shown of a sealed credential: `SHA256:` and the unpadded base64 of the
 * SHA-256 of its plaintext, to tell two credentials apart; it cannot be turned back into one.
 */
export function credentialFingerprint(plaintext: string): string {
  return `SHA256:${createHash('sha256').update(plaintext).digest('base64').replace(/=+$/, '')}`;
}
