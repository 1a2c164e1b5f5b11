import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { AuditHeadSeal } from '../../edge/src/audit/head-seal.ts';
import { fromBase64Url, toBase64Url } from '../../edge/src/auth/bytes.ts';
import { deriveKey } from '../../edge/src/auth/derive-key.ts';
import { SecretBox } from '../../edge/src/auth/secret-box.ts';
import { keyIdOf, SecretKeyring } from '../../edge/src/auth/secret-keys.ts';
import { ConfigError, parseEdgeEnv, parseSecretKeys } from '../../edge/src/env.ts';
import { CacheSeal } from '../../edge/src/services/cache-seal.ts';

const key = () => new Uint8Array(randomBytes(32));
const b64 = (k: Uint8Array) => Buffer.from(k).toString('base64');

/** What SecretBox wrote before key ids: `v1.<iv>.<ct>` under the same derived key. */
async function sealV1(secret: Uint8Array<ArrayBuffer>, plaintext: string, purpose: string): Promise<string> {
  const aes = await deriveKey(secret, 'keel/secret-box', { name: 'AES-GCM', length: 256 }, ['encrypt']);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(purpose) },
    aes,
    new TextEncoder().encode(plaintext),
  );
  return `v1.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ct))}`;
}

describe('SecretBox', () => {
  test('round-trips and never repeats a ciphertext', async () => {
    const box = new SecretBox(key());
    const a = await box.seal('private key material', 'signing-key');
    const b = await box.seal('private key material', 'signing-key');
    assert.notEqual(a, b);
    assert.equal(a.includes('private'), false);
    assert.equal(await box.open(a, 'signing-key'), 'private key material');
  });

  test('refuses another purpose, another key, or a changed byte', async () => {
    const box = new SecretBox(key());
    const sealed = await box.seal('secret', 'signing-key');
    await assert.rejects(box.open(sealed, 'runner-credential'));
    await assert.rejects(new SecretBox(key()).open(sealed, 'signing-key'), /not accepted/);
    const [v, kid, iv, ct] = sealed.split('.');
    const flipped = `${v}.${kid}.${iv}.${ct!.slice(0, -2)}${ct!.endsWith('A') ? 'B' : 'A'}${ct!.slice(-1)}`;
    await assert.rejects(box.open(flipped, 'signing-key'));
    await assert.rejects(box.open('garbage', 'signing-key'), /unknown format/);
    await assert.rejects(box.open(`v2.${'x'.repeat(500)}.${iv}.${ct}`, 'signing-key'), /malformed key id/);
  });

  test('a sealed value names the secret that sealed it, by an id that is not the secret', async () => {
    const secret = key();
    const box = new SecretBox(secret);
    const sealed = await box.seal('x', 'p');
    const kid = SecretBox.keyIdOf(sealed);
    assert.match(sealed, /^v2\.[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.equal(kid, await keyIdOf(secret));
    assert.equal(kid, await box.sealingKeyId());
    // Stable for one secret, different for another, and no prefix of the secret or its keys.
    assert.equal(await keyIdOf(new Uint8Array(secret)), kid);
    assert.notEqual(await keyIdOf(key()), kid);
    assert.equal(Buffer.from(secret).toString('base64url').includes(kid!.slice(0, 8)), false);
    assert.equal(SecretBox.keyIdOf('v1.aaaa.bbbb'), undefined);
    assert.equal(SecretBox.keyIdOf('nonsense'), undefined);
  });

  test('opens under any accepted secret by key id, and seals only under the sealing one', async () => {
    const a = key();
    const b = key();
    const underA = await new SecretBox(a).seal('credential', 'server-credential:srv_1');
    const rotating = new SecretBox(new SecretKeyring(b, [a]));
    assert.equal(await rotating.open(underA, 'server-credential:srv_1'), 'credential');
    const underB = await rotating.seal('credential', 'server-credential:srv_1');
    assert.equal(SecretBox.keyIdOf(underB), await keyIdOf(b));
    // An edge that already accepts B (KEEL_SECRET_KEY_NEXT) opens what B sealed.
    assert.equal(
      await new SecretBox(new SecretKeyring(a, [b])).open(underB, 'server-credential:srv_1'),
      'credential',
    );
    // Once A is dropped, what A sealed opens no more; the purpose still binds.
    await assert.rejects(new SecretBox(b).open(underA, 'server-credential:srv_1'), /not accepted/);
    await assert.rejects(rotating.open(underA, 'server-credential:srv_2'));
  });

  test('values sealed before key ids open under whichever accepted secret sealed them', async () => {
    const a = key();
    const b = key();
    const old = await sealV1(a, 'jwk', 'signing-key');
    assert.equal(await new SecretBox(a).open(old, 'signing-key'), 'jwk');
    assert.equal(await new SecretBox(new SecretKeyring(b, [a])).open(old, 'signing-key'), 'jwk');
    await assert.rejects(new SecretBox(b).open(old, 'signing-key'), /no accepted key/);
    await assert.rejects(new SecretBox(a).open(old, 'other'), /no accepted key/);
  });
});

describe('AuditHeadSeal across secrets', () => {
  const head = { chain: 'org_1', seq: 7, hash: 'f'.repeat(64) };

  test('checks under the secret the seal names, while it is accepted', async () => {
    const a = key();
    const b = key();
    const sealA = await new AuditHeadSeal(a).seal(head);
    assert.equal(AuditHeadSeal.keyIdOf(sealA), await keyIdOf(a));
    const rotating = new AuditHeadSeal(new SecretKeyring(b, [a]));
    assert.equal(await rotating.check(head, sealA), true);
    assert.equal(await rotating.check({ ...head, seq: 6 }, sealA), false);
    assert.equal(AuditHeadSeal.keyIdOf(await rotating.seal(head)), await keyIdOf(b));
    assert.equal(await new AuditHeadSeal(b).check(head, sealA), false);
    // A seal that names B but carries A's MAC is not accepted under either.
    const relabelled = `v2.${await keyIdOf(b)}.${sealA.split('.')[2]}`;
    assert.equal(await rotating.check(head, relabelled), false);
  });

  test('seals made before key ids are checked under each accepted secret', async () => {
    const a = key();
    const b = key();
    const hmac = await deriveKey(a, 'keel/audit-head', { name: 'HMAC', hash: 'SHA-256', length: 256 }, [
      'sign',
    ]);
    const msg = [head.chain, String(head.seq), head.hash].map((f) => `${f.length}:${f}`).join('|');
    const v1 = `v1.${toBase64Url(new Uint8Array(await crypto.subtle.sign('HMAC', hmac, new TextEncoder().encode(msg))))}`;
    assert.equal(await new AuditHeadSeal(new SecretKeyring(b, [a])).check(head, v1), true);
    assert.equal(await new AuditHeadSeal(b).check(head, v1), false);
    assert.equal(await new AuditHeadSeal(a).check(head, 'v2.short.abc'), false);
    assert.equal(fromBase64Url(v1.slice(3)).length, 32);
  });
});

describe('CacheSeal across secrets', () => {
  test('an entry sealed under an accepted secret opens; under a dropped one it reads as absent', async () => {
    const a = key();
    const b = key();
    const underA = await new CacheSeal(a).seal('keel:k', 'v');
    assert.equal(await new CacheSeal(new SecretKeyring(b, [a])).open('keel:k', underA), 'v');
    assert.equal(await new CacheSeal(new SecretKeyring(b, [a])).open('keel:other', underA), undefined);
    assert.equal(await new CacheSeal(b).open('keel:k', underA), undefined);
    const underB = await new CacheSeal(new SecretKeyring(b, [a])).seal('keel:k', 'v');
    assert.equal(await new CacheSeal(b).open('keel:k', underB), 'v');
  });
});

describe('secret key configuration', () => {
  const redis = { REDIS_URL: 'redis://127.0.0.1:6379' };

  test('KEEL_SECRET_KEY seals; _NEXT and _PREVIOUS (comma-separated) are only accepted', async () => {
    const [a, b, c] = [key(), key(), key()];
    const config = parseEdgeEnv({
      ...redis,
      KEEL_SECRET_KEY: b64(b),
      KEEL_SECRET_KEY_PREVIOUS: ` ${b64(a)} , ${b64(b)},`,
      KEEL_SECRET_KEY_NEXT: b64(c),
    });
    assert.deepEqual(config.secretKeys.sealing, b);
    assert.equal(config.secretKeys.secrets.length, 3, 'the sealing key repeated is not a second key');
    assert.deepEqual(await config.secretKeys.keyIds(), [
      await keyIdOf(b),
      await keyIdOf(c),
      await keyIdOf(a),
    ]);
    const alone = parseSecretKeys({ KEEL_SECRET_KEY: b64(a), KEEL_SECRET_KEY_PREVIOUS: '' });
    assert.equal(alone.secrets.length, 1);
  });

  test('a bad accepted key is named, without its value', () => {
    const bad = 'dG9vLXNob3J0';
    for (const name of ['KEEL_SECRET_KEY_PREVIOUS', 'KEEL_SECRET_KEY_NEXT']) {
      try {
        parseEdgeEnv({ ...redis, KEEL_SECRET_KEY: b64(key()), [name]: `${b64(key())},${bad}` });
        assert.fail('should throw');
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, new RegExp(name));
        assert.equal(err.message.includes(bad), false);
      }
    }
    assert.throws(
      () =>
        parseSecretKeys({
          KEEL_SECRET_KEY: b64(key()),
          KEEL_SECRET_KEY_PREVIOUS: Array(5).fill(b64(key())).join(','),
        }),
      /at most 4/,
    );
  });
});
