import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { languageForPath } from './language-for-path.ts';
import { isWithin, joinPath, movePath, nameProblem, parentOf } from './workspace-paths.ts';

describe('languageForPath', () => {
  test('by extension, case-insensitively, in any folder', () => {
    assert.equal(languageForPath('src/app.TSX'), 'typescript');
    assert.equal(languageForPath('main.py'), 'python');
    assert.equal(languageForPath('a/b/config.yml'), 'yaml');
    assert.equal(languageForPath('package.json'), 'json');
  });

  test('by whole name where the name says it', () => {
    assert.equal(languageForPath('Dockerfile'), 'dockerfile');
    assert.equal(languageForPath('deploy/Dockerfile.prod'), 'dockerfile');
    assert.equal(languageForPath('.env.local'), 'ini');
  });

  test('unknown, extension-less and dot-files fall back to plain text', () => {
    assert.equal(languageForPath('LICENSE'), 'plaintext');
    assert.equal(languageForPath('data.xyz'), 'plaintext');
    assert.equal(languageForPath('.hidden'), 'plaintext');
  });
});

describe('workspace paths', () => {
  test('parent, join, within, move', () => {
    assert.equal(parentOf('a/b/c.ts'), 'a/b');
    assert.equal(parentOf('c.ts'), '');
    assert.equal(joinPath('', 'a'), 'a');
    assert.equal(joinPath('a', 'b'), 'a/b');
    assert.ok(isWithin('a/b/c', 'a'));
    assert.ok(isWithin('a', 'a'));
    assert.ok(!isWithin('ab/c', 'a'));
    assert.equal(movePath('a/b/c.ts', 'a/b', 'x'), 'x/c.ts');
    assert.equal(movePath('a/b', 'a/b', 'x/y'), 'x/y');
  });

  test('nameProblem accepts nested names and refuses escapes and empty parts', () => {
    assert.equal(nameProblem('src/new.ts'), undefined);
    assert.equal(nameProblem('.env'), undefined);
    assert.ok(nameProblem(''));
    assert.ok(nameProblem('/etc/passwd'));
    assert.ok(nameProblem('../up'));
    assert.ok(nameProblem('a//b'));
    assert.ok(nameProblem('a/'));
    assert.ok(nameProblem(' padded'));
  });
});
