import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Command, filterCommands, matchesShortcut, shortcutLabel } from './commands.ts';
import { createIdeLayoutStore } from './ide-layout-store.ts';

const command = (title: string): Command => ({ id: title, title, run: () => {} });

describe('commands', () => {
  test('filter: every word, any order and case; title prefixes first', () => {
    const all = [
      command('Toggle terminal'),
      command('New file'),
      command('Save file'),
      command('File: rename'),
    ];

    assert.deepEqual(
      filterCommands(all, 'file').map((c) => c.title),
      ['File: rename', 'New file', 'Save file'],
    );
    assert.deepEqual(
      filterCommands(all, 'FILE save').map((c) => c.title),
      ['Save file'],
    );
    assert.equal(filterCommands(all, '  ').length, 4);
  });

  test('labels read per platform', () => {
    assert.equal(shortcutLabel(['Mod', 'Shift', 'P'], false), 'Ctrl+Shift+P');
    assert.equal(shortcutLabel(['Mod', 'Shift', 'P'], true), '⌘⇧P');
  });

  test('matching: Mod is Ctrl off a Mac and ⌘ on one; extra modifiers do not match', () => {
    const key = (init: Partial<KeyboardEvent>) => ({
      key: 's',
      code: 'KeyS',
      ctrlKey: false,
      metaKey: false,
      shiftKey: false,
      altKey: false,
      ...init,
    });
    assert.ok(matchesShortcut(key({ ctrlKey: true }), ['Mod', 'S'], false));
    assert.ok(matchesShortcut(key({ metaKey: true }), ['Mod', 'S'], true));
    assert.ok(!matchesShortcut(key({ metaKey: true }), ['Mod', 'S'], false));
    assert.ok(!matchesShortcut(key({ ctrlKey: true, shiftKey: true }), ['Mod', 'S'], false));
    assert.ok(
      matchesShortcut(
        key({ ctrlKey: true, shiftKey: true, key: 'P', code: 'KeyP' }),
        ['Mod', 'Shift', 'P'],
        false,
      ),
    );
    assert.ok(matchesShortcut(key({ key: 'F1', code: 'F1' }), ['F1'], false));
    assert.ok(!matchesShortcut(key({ key: 'F1', code: 'F1', ctrlKey: true }), ['F1'], false));
    assert.ok(matchesShortcut(key({ key: '˜', code: 'KeyN', altKey: true }), ['Alt', 'N'], true));
  });
});

describe('IDE layout store', () => {
  test('keeps sizes within limits and remembers them', () => {
    const data = new Map<string, string>();
    const storage = {
      getItem: (k: string) => data.get(k) ?? null,
      setItem: (k: string, v: string) => void data.set(k, v),
    };
    const layout = createIdeLayoutStore(storage);

    layout.set({ sidebarWidth: 5000, panelTab: 'terminal' });

    assert.equal(layout.layout().sidebarWidth, 640);
    assert.equal(createIdeLayoutStore(storage).layout().panelTab, 'terminal');
  });

  test('unreadable stored layouts fall back to the defaults', () => {
    const layout = createIdeLayoutStore({ getItem: () => '{bad json', setItem: () => {} });

    assert.equal(layout.layout().sidebarWidth, 260);
  });
});
