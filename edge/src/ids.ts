import { type IdKind, idPrefixes } from '@keel/contract/ids';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const ID_BYTES = 20;
/**
 * Random bytes are drawn from the CSPRNG 4 KB at a time and each used once: every request
 * mints ids (its request id, a stream's), and one call per id cost more than the rest of
 * making it. (Filled on first use: workerd allows no random values at module load.)
 */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let used = 0;

/** `usr_…`, `org_…`: 20 base32 characters (100 bits) from the platform CSPRNG. */
export function newId(kind: IdKind): string {
  if (used + ID_BYTES > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    used = 0;
  }
  let body = '';
  for (let i = used; i < used + ID_BYTES; i++) body += BASE32[pool[i]! & 31];
  used += ID_BYTES;
  return `${idPrefixes[kind]}_${body}`;
}
