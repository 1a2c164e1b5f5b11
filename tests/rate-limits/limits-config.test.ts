import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseEdgeEnv } from '../../edge/src/env.ts';
import { withinMaximums } from '../../edge/src/plans/plan-store.ts';

const good = { REDIS_URL: 'redis://127.0.0.1:6379', KEEL_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') };
const none = {
  aiTokensPerDay: null,
  concurrentWorkspaces: null,
  concurrentCommands: null,
  apiRequestsPerMinute: null,
};

describe('rate limit and plan configuration', () => {
  test('defaults: 600 a minute per address, 300 per person, an unlimited default plan, no ceilings', () => {
    const c = parseEdgeEnv(good);
    assert.deepEqual(c.rateLimits, { perIpPerMinute: 600, perPersonPerMinute: 300 });
    assert.deepEqual(c.plans, {
      default: { name: 'Default', limits: none },
      maximums: none,
      cacheSeconds: 10,
    });
  });

  test('limits are whole numbers from 1, or empty / unlimited for none; anything else fails at start', () => {
    const c = parseEdgeEnv({
      ...good,
      KEEL_PLAN_DEFAULT_NAME: 'Starter',
      KEEL_PLAN_DEFAULT_CONCURRENT_WORKSPACES: '4',
      KEEL_PLAN_DEFAULT_AI_TOKENS_PER_DAY: 'unlimited',
      KEEL_PLAN_DEFAULT_API_REQUESTS_PER_MINUTE: '',
      KEEL_PLAN_MAX_CONCURRENT_COMMANDS: '16',
    });
    assert.deepEqual(c.plans.default, { name: 'Starter', limits: { ...none, concurrentWorkspaces: 4 } });
    assert.deepEqual(c.plans.maximums, { ...none, concurrentCommands: 16 });
    for (const bad of ['0', '-1', '1.5', 'lots']) {
      assert.throws(
        () => parseEdgeEnv({ ...good, KEEL_PLAN_MAX_CONCURRENT_WORKSPACES: bad }),
        /KEEL_PLAN_MAX_CONCURRENT_WORKSPACES/,
      );
    }
    assert.throws(
      () => parseEdgeEnv({ ...good, KEEL_RATE_LIMIT_IP_PER_MINUTE: '0' }),
      /KEEL_RATE_LIMIT_IP_PER_MINUTE/,
    );
  });

  test('a plan is held to the install’s ceilings: above one, or unlimited where there is one, reads as the ceiling', () => {
    assert.deepEqual(
      withinMaximums(
        { aiTokensPerDay: null, concurrentWorkspaces: 50, concurrentCommands: 2, apiRequestsPerMinute: null },
        { ...none, aiTokensPerDay: 1000, concurrentWorkspaces: 10 },
      ),
      { aiTokensPerDay: 1000, concurrentWorkspaces: 10, concurrentCommands: 2, apiRequestsPerMinute: null },
    );
  });
});
