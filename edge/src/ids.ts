import { type IdKind, idPrefixes } from '@keel/contract/ids';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `usr_…`, `org_…`: 20 base32 characters (100 bits) from the platform CSPRNG. */
export function newId(kind: IdKind): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let body = '';
  for (const b of bytes) body += BASE32[b & 31];
  return `${idPrefixes[kind]}_${body}`;
}
