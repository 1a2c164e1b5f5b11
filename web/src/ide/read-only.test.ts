import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Permission } from '@keel/contract/permissions';
import { ROLE_PERMISSIONS } from '@keel/contract/permissions';
import { type IdeActions, ideCommands } from './ide-commands.ts';
import { allowedCommands, ideAllowances } from './read-only.ts';

const actions = new Proxy({}, { get: () => () => {} }) as IdeActions;
const yes = () => true;
const all = ideCommands(actions, {
  hasActiveFile: yes,
  hasDirtyFiles: yes,
  hasSelection: yes,
  running: yes,
  canStart: yes,
  canUseSelection: yes,
});
const holding = (permissions: Iterable<Permission>, owner = false) => {
  const held = new Set(permissions);
  return ideAllowances((p) => held.has(p), { owner });
};

describe('the IDE for what a person may do', () => {
  test('a viewer reads: no save, run, terminal, file changes, lifecycle or AI', () => {
    const viewer = holding(ROLE_PERMISSIONS.viewer);
    assert.deepEqual(viewer, { work: false, ai: false, push: false });
    const ids = allowedCommands(all, viewer).map((c) => c.id);
    for (const hidden of [
      'save',
      'save-all',
      'new-file',
      'new-folder',
      'rename',
      'delete',
      'run',
      'terminal',
    ])
      assert.ok(!ids.includes(hidden), `${hidden} is not offered`);
    for (const hidden of ['start', 'stop', 'restart', 'ai-panel', 'ai-explain', 'ai-rewrite', 'git-push'])
      assert.ok(!ids.includes(hidden), `${hidden} is not offered`);
    for (const kept of ['palette', 'close-tab', 'refresh', 'sidebar', 'panel', 'theme', 'back'])
      assert.ok(ids.includes(kept), `${kept} stays`);
  });

  test('a developer and up get every command in their own workspace', () => {
    for (const role of ['developer', 'admin', 'super_admin'] as const) {
      const allowed = holding(ROLE_PERMISSIONS[role], true);
      assert.deepEqual(allowed, { work: true, ai: true, push: true });
      assert.equal(allowedCommands(all, allowed).length, all.length, role);
    }
  });

  test('Git: Push… is the owner’s alone: not for an admin in someone else’s workspace, nor a demoted owner', () => {
    const admin = allowedCommands(all, holding(ROLE_PERMISSIONS.admin, false)).map((c) => c.id);
    assert.ok(!admin.includes('git-push'));
    assert.equal(admin.length, all.length - 1, 'everything else stays');
    const demoted = holding(ROLE_PERMISSIONS.viewer, true);
    assert.equal(demoted.push, false);
    assert.ok(!allowedCommands(all, demoted).some((c) => c.id === 'git-push'));
  });

  test('a token scoped to reading and AI: AI stays, writing goes', () => {
    const ids = allowedCommands(all, holding(['workspaces:read', 'ai:use'])).map((c) => c.id);
    assert.ok(ids.includes('ai-explain'));
    assert.ok(!ids.includes('save'));
  });
});
