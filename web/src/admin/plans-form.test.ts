import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planFromForm } from './plans-form.ts';

const none = {
  aiTokensPerDay: null,
  concurrentWorkspaces: null,
  concurrentCommands: null,
  apiRequestsPerMinute: null,
};
const texts = (over: Partial<Record<string, string>> = {}) => ({
  aiTokensPerDay: '',
  concurrentWorkspaces: '3',
  concurrentCommands: '',
  apiRequestsPerMinute: '1,200',
  ...over,
});

describe('the plan form', () => {
  test('empty is unlimited; numbers may have thousands separators', () => {
    assert.deepEqual(planFromForm(' Team ', texts(), none), {
      ok: true,
      plan: {
        name: 'Team',
        limits: {
          aiTokensPerDay: null,
          concurrentWorkspaces: 3,
          concurrentCommands: null,
          apiRequestsPerMinute: 1200,
        },
      },
    });
  });

  test('bad numbers, a missing name and limits above the install’s maximum are marked per field', () => {
    const result = planFromForm('', texts({ concurrentWorkspaces: '0', concurrentCommands: '1.5' }), {
      ...none,
      apiRequestsPerMinute: 1000,
      aiTokensPerDay: 50,
    });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(Object.keys(result.fields).sort(), [
      'aiTokensPerDay',
      'apiRequestsPerMinute',
      'concurrentCommands',
      'concurrentWorkspaces',
      'name',
    ]);
    assert.match(result.fields.apiRequestsPerMinute!, /at most 1,000/);
  });
});
