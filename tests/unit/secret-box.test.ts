import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { SecretBox } from '../../edge/src/auth/secret-box.ts';

const key = () => new Uint8Array(randomBytes(32));

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
    await assert.rejects(new SecretBox(key()).open(sealed, 'signing-key'));
    const [v, iv, ct] = sealed.split('.');
    const flipped = `${v}.${iv}.${ct!.slice(0, -2)}${ct!.endsWith('A') ? 'B' : 'A'}${ct!.slice(-1)}`;
    await assert.rejects(box.open(flipped, 'signing-key'));
    await assert.rejects(box.open('garbage', 'signing-key'));
  });
});
