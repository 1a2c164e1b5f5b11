/**
 * A key for one purpose, derived from KEEL_SECRET_KEY with HKDF-SHA256. Each purpose names
 * its own salt, so keys for different purposes are unrelated and none reveals another.
 */
export async function deriveKey(
  secretKey: Uint8Array<ArrayBuffer>,
  purpose: string,
  algorithm: HmacImportParams | AesKeyAlgorithm,
  usages: KeyUsage[],
): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', secretKey, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: new TextEncoder().encode(purpose),
      info: new TextEncoder().encode('v1'),
    },
    base,
    algorithm,
    false,
    usages,
  );
}

/** The same derivation as `deriveKey`, as raw bytes (for node:crypto, where it is faster). */
export async function deriveKeyBytes(
  secretKey: Uint8Array<ArrayBuffer>,
  purpose: string,
  bits = 256,
): Promise<Uint8Array> {
  const base = await crypto.subtle.importKey('raw', secretKey, 'HKDF', false, ['deriveBits']);
  const derived = await crypto.subtle.deriveBits(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: new TextEncoder().encode(purpose),
      info: new TextEncoder().encode('v1'),
    },
    base,
    bits,
  );
  return new Uint8Array(derived);
}
