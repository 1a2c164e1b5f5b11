/*
 * Every target in targets/ is run: a target file without its conformance.<kind>.test.ts would be
 * silently left out of the suite.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { DriverTarget } from './target.ts';

const dir = new URL('.', import.meta.url).pathname;

test('each driver target has its conformance test file, which runs it', async () => {
  const kinds = readdirSync(`${dir}targets`)
    .filter((n) => n.endsWith('.ts'))
    .map((n) => n.slice(0, -3));
  assert.ok(kinds.includes('docker') && kinds.includes('process'), kinds.join(' '));
  for (const kind of kinds) {
    const { target } = (await import(`./targets/${kind}.ts`)) as { target: DriverTarget };
    assert.equal(target?.kind, kind, `targets/${kind}.ts exports a ${kind} target`);
    const file = `${dir}conformance.${kind}.test.ts`;
    assert.ok(existsSync(file), `conformance.${kind}.test.ts runs targets/${kind}.ts`);
    const text = readFileSync(file, 'utf8');
    assert.match(
      text,
      new RegExp(`from '\\./targets/${kind}\\.ts'`),
      `conformance.${kind}.test.ts imports its target`,
    );
    assert.match(text, /^conformance\(target\);$/m);
  }
});
