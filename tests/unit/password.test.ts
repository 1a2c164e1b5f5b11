import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DECOY_PASSWORD_HASH,
  hashPassword,
  needsRehash,
  verifyPassword,
} from '../../edge/src/auth/password.ts';

describe('password hashing (argon2id)', () => {
  test('hashes verify, with a fresh salt each time', async () => {
    const a = await hashPassword('correct horse battery staple');
    const b = await hashPassword('correct horse battery staple');
    assert.notEqual(a, b);
    assert.match(a, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await verifyPassword('correct horse battery staple', a), true);
    assert.equal(await verifyPassword('correct horse battery stapler', a), false);
    assert.equal(needsRehash(a), false);
  });

  test('weaker stored parameters still verify and ask for a rehash', async () => {
    const weak = await hashPassword('pw-pw-pw-pw', { m: 1024, t: 1, p: 1 });
    assert.equal(await verifyPassword('pw-pw-pw-pw', weak), true);
    assert.equal(needsRehash(weak), true);
  });

  test('malformed hashes and the decoy never verify', async () => {
    assert.equal(await verifyPassword('x', 'plaintext'), false);
    assert.equal(await verifyPassword('x', '$argon2i$v=19$m=1,t=1,p=1$AAAA$AAAA'), false);
    assert.equal(await verifyPassword('', DECOY_PASSWORD_HASH), false);
  });
});
