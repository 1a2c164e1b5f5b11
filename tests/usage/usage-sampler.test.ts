import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_USAGE_SAMPLES, type UsageSampleReport } from '@keel/contract/usage';
import { splitAtHours } from '../../runners/src/usage/hour-split.ts';
import {
  type PreviousReading,
  type ReportOutcome,
  UsageSampler,
  type WorkspaceReading,
} from '../../runners/src/usage/usage-sampler.ts';

const H = Date.parse('2026-03-10T14:00:00Z');
const GIB = 1024 ** 3;

/** A sampler on a clock the test moves, reading what the test sets, sending into a list. */
function rig(outcomes: ReportOutcome[] = []) {
  let now = H - 30_000;
  let readings = new Map<string, WorkspaceReading>();
  const sent: UsageSampleReport[] = [];
  let state: Record<string, PreviousReading> = {};
  const sampler = new UsageSampler(
    {
      read: async () => readings,
      send: async (r) => {
        sent.push(structuredClone(r));
        return outcomes.shift() ?? 'delivered';
      },
      state: {
        load: async () => state,
        save: async (s) => {
          state = structuredClone(s);
        },
      },
      now: () => now,
    },
    60_000,
  );
  return {
    sampler,
    sent,
    set: (r: Record<string, WorkspaceReading>) => {
      readings = new Map(Object.entries(r));
    },
    advance: (ms: number) => {
      now += ms;
    },
    state: () => state,
    setState: (s: Record<string, PreviousReading>) => {
      state = s;
    },
  };
}

describe('usage sampler (runner)', () => {
  test('splitAtHours cuts at each UTC hour boundary', () => {
    assert.deepEqual(splitAtHours(H - 10, H + 10), [
      [H - 10, H],
      [H, H + 10],
    ]);
    assert.deepEqual(splitAtHours(H, H + 3600_000), [[H, H + 3600_000]]);
    assert.equal(splitAtHours(H - 1, H + 2 * 3600_000 + 1).length, 4);
    assert.deepEqual(splitAtHours(H, H), []);
  });

  test('increments since the previous reading, split across the hour; a first sight counts its whole counter next time', async () => {
    const r = rig();
    r.set({ ws_a: { cpuSeconds: 5, memoryBytes: GIB, storageBytes: 100 } });
    await r.sampler.tick();
    assert.equal(r.sent.length, 0, 'the first reading starts the count');
    r.advance(60_000); // 13:59:30 → 14:00:30
    r.set({ ws_a: { cpuSeconds: 11, memoryBytes: 3 * GIB, storageBytes: 200 } });
    await r.sampler.tick();
    assert.equal(r.sent.length, 1);
    const [a, b] = r.sent[0]!.samples;
    assert.deepEqual(
      [a!.from, a!.to, b!.from, b!.to],
      [
        '2026-03-10T13:59:30.000Z',
        '2026-03-10T14:00:00.000Z',
        '2026-03-10T14:00:00.000Z',
        '2026-03-10T14:00:30.000Z',
      ],
    );
    // All 11 CPU-seconds (first sight: its counter began since), half in each part.
    assert.equal(a!.cpuSeconds + b!.cpuSeconds, 11);
    assert.equal(a!.cpuSeconds, 5.5);
    // Memory: the mean of the readings (2 GiB) over 30 s each.
    assert.equal(a!.memoryByteSeconds, 2 * GIB * 30);
    assert.deepEqual([a!.runningSeconds, b!.runningSeconds, b!.storageBytes], [30, 30, 200]);

    r.advance(60_000);
    r.set({ ws_a: { cpuSeconds: 2, memoryBytes: GIB } });
    await r.sampler.tick();
    assert.equal(r.sent[1]!.samples[0]!.cpuSeconds, 2, 'a counter that went back is a restarted workload');
  });

  test('an undelivered report is sent again with the same id; a refused one is dropped', async () => {
    const r = rig(['retry', 'retry', 'delivered', 'refused']);
    r.set({ ws_a: { cpuSeconds: 1 } });
    await r.sampler.tick();
    for (let i = 0; i < 3; i++) {
      r.advance(60_000);
      await r.sampler.tick();
    }
    // Round 2: sent, retry. Round 3: same, retry. Round 4: delivered, then the two newer ones.
    const ids = r.sent.map((s) => s.reportId);
    assert.equal(ids[0], ids[1]);
    assert.equal(ids[1], ids[2]);
    assert.equal(new Set(ids).size, 3);
    assert.equal(r.sampler.pending, 0, 'the refused one is not kept');
  });

  test('workspaces the edge refused are logged once, ids only, and never sent again', async () => {
    const refused = { refusedWorkspaces: ['ws_moved'] };
    const r = rig(['delivered', refused, refused, 'delivered', 'delivered', refused]);
    const lines: string[] = [];
    const original = console.error;
    console.error = (line: string) => lines.push(line);
    const round = async (readings: Record<string, WorkspaceReading>) => {
      r.set(readings);
      await r.sampler.tick();
      r.advance(60_000);
    };
    try {
      const both = { ws_here: { cpuSeconds: 1 }, ws_moved: { cpuSeconds: 1 } };
      // The first reading; then delivered, refused (logged), refused again (not logged).
      for (let i = 0; i < 4; i++) await round(both);
      // Gone from this runner, then back (its first reading), then refused again: logged again.
      await round({ ws_here: { cpuSeconds: 1 } });
      await round(both);
      await round(both);
    } finally {
      console.error = original;
    }
    assert.equal(r.sent.length, 6);
    assert.equal(r.sampler.pending, 0, 'a report with refused samples is done: not resent');
    assert.equal(new Set(r.sent.map((s) => s.reportId)).size, r.sent.length, 'no report sent twice');
    const warned = lines.map((l) => JSON.parse(l)).filter((l) => /refused/.test(l.msg));
    assert.equal(warned.length, 2, JSON.stringify(lines));
    for (const w of warned) {
      assert.equal(w.level, 'warn');
      assert.deepEqual(w.workspaces, ['ws_moved']);
      assert.deepEqual(Object.keys(w).sort(), ['at', 'level', 'msg', 'workspaces'], 'ids only');
    }
  });

  test('a report carries at most MAX_USAGE_SAMPLES; workspaces gone are forgotten', async () => {
    const r = rig();
    const many: Record<string, WorkspaceReading> = {};
    for (let i = 0; i < MAX_USAGE_SAMPLES + 3; i++) many[`ws_${i}`] = { cpuSeconds: i };
    r.set(many);
    await r.sampler.tick();
    r.advance(10_000);
    await r.sampler.tick();
    assert.deepEqual(
      r.sent.map((s) => s.samples.length),
      [MAX_USAGE_SAMPLES, 3],
    );
    r.set({});
    r.advance(10_000);
    await r.sampler.tick();
    assert.deepEqual(r.state(), {});
  });

  test('the kept readings carry over a restart: nothing counted twice', async () => {
    const r = rig();
    r.setState({ ws_a: { at: H - 90_000, cpuSeconds: 40, memoryBytes: GIB } });
    r.set({ ws_a: { cpuSeconds: 43, memoryBytes: GIB } });
    await r.sampler.tick();
    assert.equal(r.sent.length, 1);
    assert.equal(r.sent[0]!.samples[0]!.cpuSeconds, 3);
    assert.equal(r.sent[0]!.samples[0]!.runningSeconds, 60);
  });

  test('stop waits for the round in progress and sends nothing after', async () => {
    const r = rig();
    r.sampler.start();
    await r.sampler.stop();
    const count = r.sent.length;
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(r.sent.length, count);
  });
});
