import { createHash } from 'node:crypto';

/** A host's SSH public key: its wire blob and the ways an admin sees it. */
export interface HostKey {
  /** The key type named inside the blob, e.g. `ssh-ed25519`. */
  algorithm: string;
  blob: Buffer;
  /** `SHA256:` and the unpadded base64 of the blob's SHA-256, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** `<algorithm> <base64 blob>`, the form an admin pins. */
  publicKey: string;
}

/** The key type is the blob's first length-prefixed string. */
function blobAlgorithm(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined;
  const name = blob.subarray(4, 4 + len).toString('latin1');
  return /^[a-z0-9@.-]+$/.test(name) ? name : undefined;
}

export function sshFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function hostKeyFromBlob(blob: Buffer): HostKey {
  const algorithm = blobAlgorithm(blob) ?? 'unknown';
  return {
    algorithm,
    blob,
    fingerprint: sshFingerprint(blob),
    publicKey: `${algorithm} ${blob.toString('base64')}`,
  };
}

/**
 * Reads a pinned OpenSSH public key line (`ssh-ed25519 AAAA… comment`). Returns undefined when it
 * is not one, or when the type in front does not match the type inside the blob.
 */
export function parsePublicKeyLine(line: string): HostKey | undefined {
  const [type, b64] = line.trim().split(/\s+/);
  if (!type || !b64 || !/^[A-Za-z0-9+/]+={0,3}$/.test(b64)) return undefined;
  const key = hostKeyFromBlob(Buffer.from(b64, 'base64'));
  return key.algorithm === type ? key : undefined;
}

/**
 * The host key algorithms to offer when a key of this type is pinned: the server then presents
 * that key, not another of its keys that could not be compared.
 */
export function hostKeyAlgorithmsFor(algorithm: string): string[] {
  return algorithm === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [algorithm];
}
