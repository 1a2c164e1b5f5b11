import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTestApis } from '../testing/api-setup.ts';
import { json } from '../testing/fake-fetch.ts';
import { ApiError } from './api-error.ts';

const settings = {
  workspaceNetwork: 'on_request',
  egressAllow: ['10.0.0.0/8'],
  maxCpus: 8,
  maxMemoryMb: 16384,
  maxDiskMb: 51200,
  placementPolicy: {
    strategy: 'round-robin',
    requiredLabels: { region: 'eu' },
    preferredLabels: {},
    cpuOvercommit: 8,
    memoryOvercommit: 1.5,
  },
};

describe('install API (fake fetch)', () => {
  test('settings are read and updated with the CSRF header, and validated', async () => {
    const answer = { settings, updatedAt: null, updatedBy: null };
    const { install, calls, paths } = createTestApis(json(200, answer), json(200, answer));

    assert.deepEqual(await install.settings(), answer);
    await install.updateSettings({ workspaceNetwork: 'on_request' });

    assert.deepEqual(paths(), ['GET /api/install/settings', 'PUT /api/install/settings']);
    assert.deepEqual(calls[1]?.body, { workspaceNetwork: 'on_request' });
    assert.equal(calls[1]?.headers.get('x-keel-csrf'), 'csrf-cookie');
  });

  test('a policy the contract does not know is an unexpected_response, not a guess', async () => {
    const { install } = createTestApis(
      json(200, { workspaceNetwork: 'sometimes', maxCpus: 8, maxMemoryMb: 1, maxDiskMb: 1 }),
    );

    await assert.rejects(
      install.workspacePolicy(),
      (error) => error instanceof ApiError && error.code === 'unexpected_response',
    );
  });

  test('shared runners are revoked by id', async () => {
    const { install, paths } = createTestApis(json(204, undefined));

    await install.revokeSharedRunner('rnr_abcdefghijklmnopqrst');

    assert.deepEqual(paths(), ['DELETE /api/install/runners/rnr_abcdefghijklmnopqrst']);
  });

  test('a shared runner registration token is asked for with the CSRF header, and its answer validated', async () => {
    const answer = {
      token: 'rgt_secret',
      runnerToken: {
        id: 'rtk_abcdefghijklmnopqrst',
        name: null,
        labels: {},
        expiresAt: '2026-12-07T00:00:00.000Z',
        maxUses: 1,
        uses: 0,
        createdAt: '2026-12-06T00:00:00.000Z',
      },
    };
    const { install, calls, paths } = createTestApis(json(201, answer), json(201, { token: 7 }));

    assert.deepEqual(await install.createSharedRunnerToken(), answer);
    assert.deepEqual(paths(), ['POST /api/install/runner-tokens']);
    assert.equal(calls[0]?.headers.get('x-keel-csrf'), 'csrf-cookie');
    await assert.rejects(
      install.createSharedRunnerToken('gpu'),
      (error) => error instanceof ApiError && error.code === 'unexpected_response',
    );
  });
});
