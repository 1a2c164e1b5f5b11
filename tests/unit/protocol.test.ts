import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatProtocol,
  negotiate,
  PROTOCOL,
  ProtocolVersionString,
  parseProtocol,
} from '@keel/contract/protocol';
import { CONTRACT_VERSION } from '@keel/contract/version';

describe('protocol versions', () => {
  test('the same major is agreed at the lower minor, whichever side is newer', () => {
    assert.deepEqual(negotiate({ major: 1, minor: 1 }, { major: 1, minor: 4 }), {
      ok: true,
      agreed: { major: 1, minor: 1 },
    });
    assert.deepEqual(negotiate({ major: 1, minor: 3 }, { major: 1, minor: 0 }), {
      ok: true,
      agreed: { major: 1, minor: 0 },
    });
    assert.deepEqual(negotiate({ major: 2, minor: 0 }, { major: 2, minor: 0 }), {
      ok: true,
      agreed: { major: 2, minor: 0 },
    });
  });

  test('another major is refused, naming what each side speaks', () => {
    const result = negotiate({ major: 1, minor: 1 }, { major: 2, minor: 0 });
    assert.deepEqual(result, {
      ok: false,
      message: 'this edge speaks protocol 1.x (up to 1.1); the runner speaks 2.0',
    });
    const older = negotiate(
      { major: 2, minor: 3 },
      { major: 1, minor: 7 },
      { ours: 'this runner', theirs: 'the edge' },
    );
    assert.equal(older.ok, false);
    assert.equal(
      !older.ok && older.message,
      'this runner speaks protocol 2.x (up to 2.3); the edge speaks 1.7',
    );
  });

  test('"<major>.<minor>" parses and formats back; anything else is refused', () => {
    for (const text of ['1.0', '1.1', '2.0', '10.25', '0.3'])
      assert.equal(formatProtocol(parseProtocol(text)), text);
    for (const bad of [
      '1',
      '1.',
      '.1',
      '1.1.1',
      '01.1',
      '1.01',
      'v1.1',
      '1.1 ',
      '-1.0',
      '1.x',
      '',
      '1234567.0',
    ]) {
      assert.equal(ProtocolVersionString.safeParse(bad).success, false, bad);
    }
  });

  test('the major is the `v` every job and call carries', () => {
    assert.equal(PROTOCOL.major, CONTRACT_VERSION);
  });
});
