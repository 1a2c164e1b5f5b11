/**
 * The scale test's command line: what `--ide` means with and without a ramp.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseScaleOptions } from '../../bench/scale/options.ts';

test('one run: an IDE client per person unless --ide says otherwise', () => {
  assert.equal(parseScaleOptions(['--people', '7']).ideClients, 7);
  assert.equal(parseScaleOptions(['--people', '7', '--ide', '2']).ideClients, 2);
});

test('a ramp keeps --ide (terminals alone with --ide 0), else one per person at each step', () => {
  const alone = parseScaleOptions(['--ramp', '50,100', '--ide', '0']);
  assert.deepEqual(alone.ramp, [50, 100]);
  assert.equal(alone.ideClients, 0);
  assert.equal(parseScaleOptions(['--ramp', '50,100']).ideClients, undefined);
});

test('bad values are refused', () => {
  assert.throws(() => parseScaleOptions(['--ide', '-1']));
  assert.throws(() => parseScaleOptions(['--ramp', '5,x']));
  assert.throws(() => parseScaleOptions(['--unknown']));
});
