/*
 * The small parts of the runner's metrics: the registry against the contract, the usage cache's
 * bounds (time to live, concurrency, one refresh for scrapes that come together), the background
 * folder sizes, and cgroup files as the kernel writes them (v1 and v2, in a temporary folder).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RUNNER_METRICS } from '../../edge/contract/src/metrics.ts';
import { cgroupUsage } from '../../runners/src/metrics/cgroup-usage.ts';
import { DiskUsage, folderBytes, foldersBytes } from '../../runners/src/metrics/disk-usage.ts';
import { streamKindLabel } from '../../runners/src/metrics/recorder.ts';
import { buildRunnerRegistry } from '../../runners/src/metrics/registry.ts';
import { UsageCache } from '../../runners/src/metrics/usage-cache.ts';
import { namespaceTraffic, realLimit } from '../../runners/src/metrics/workload-usage.ts';

const dir = mkdtempSync(join(tmpdir(), 'keel-metrics-parts-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runner metrics parts', () => {
  test('the registry holds every contract metric with its kind and labels', async () => {
    const { registry } = buildRunnerRegistry();
    const got = await registry.getMetricsAsJSON();
    assert.deepEqual(got.map((m) => m.name).sort(), Object.keys(RUNNER_METRICS).sort());
    for (const m of got) {
      const spec = RUNNER_METRICS[m.name as keyof typeof RUNNER_METRICS];
      assert.equal(m.type, spec.kind);
      assert.equal(m.help, spec.help);
    }
  });

  test('the usage cache reuses a reading, bounds concurrency and shares one refresh', async () => {
    let reads = 0;
    let inFlight = 0;
    let most = 0;
    const cache = new UsageCache(
      async (id) => {
        reads++;
        inFlight++;
        most = Math.max(most, inFlight);
        await sleep(20);
        inFlight--;
        return id === 'gone' ? undefined : { cpuSeconds: 1 };
      },
      { ttlMs: 200, concurrency: 2, timeoutMs: 1_000 },
    );
    const ids = ['a', 'b', 'c', 'd', 'gone'];
    const [one, two] = await Promise.all([cache.get(ids), cache.get(ids)]);
    assert.equal(reads, 5, 'scrapes that came together shared one refresh');
    assert.equal(most, 2);
    assert.deepEqual([...one!.keys()], ['a', 'b', 'c', 'd']);
    assert.deepEqual([...two!.keys()], ['a', 'b', 'c', 'd']);
    await cache.get(['a', 'b']);
    assert.equal(reads, 5, 'fresh readings reused');
    await sleep(220);
    await cache.get(['a']);
    assert.equal(reads, 6);
  });

  test('a reading that hangs gives up at its timeout', async () => {
    const cache = new UsageCache(
      (_id, signal) =>
        new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      { ttlMs: 1_000, concurrency: 1, timeoutMs: 50 },
    );
    // AbortSignal.timeout's timer does not hold the event loop open; the runner's timers do.
    const alive = setInterval(() => {}, 1_000);
    const started = Date.now();
    assert.equal((await cache.get(['stuck'])).size, 0);
    assert.ok(Date.now() - started < 1_000);
    clearInterval(alive);
  });

  test('folder sizes come from a background pass and are forgotten with their workspace', async () => {
    const folder = join(dir, 'ws');
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder);
    writeFileSync(join(folder, 'f'), Buffer.alloc(100_000, 1));
    assert.ok(((await folderBytes(folder)) ?? 0) >= 100_000);
    assert.equal(await folderBytes(join(dir, 'missing')), undefined);
    mkdirSync(join(dir, 'ws2'), { recursive: true });
    writeFileSync(join(dir, 'ws2', 'g'), Buffer.alloc(300_000, 1));
    const [one, missing, two] = await foldersBytes([folder, join(dir, 'missing'), join(dir, 'ws2')]);
    assert.deepEqual(
      [one! >= 100_000 && one! < 300_000, missing, two! >= 300_000],
      [true, undefined, true],
      'one du for several folders, each its own total',
    );
    let measured = 0;
    const disk = new DiskUsage(
      async (id) => (id === 'ws' ? folder : join(dir, id)),
      60_000,
      async (paths) => {
        measured += paths.length;
        return foldersBytes(paths);
      },
    );
    assert.equal(disk.sizes(['ws', 'nope']).size, 0, 'nothing known before the first pass');
    await disk.settled();
    assert.ok((disk.sizes(['ws', 'nope']).get('ws') ?? 0) >= 100_000);
    await disk.settled();
    assert.equal(measured, 2, 'a failed folder is not walked again at every scrape');
    assert.equal(disk.sizes([]).size, 0);
  });

  test('cgroup v2 and v1 files', async () => {
    const v2 = join(dir, 'v2');
    mkdirSync(v2, { recursive: true });
    writeFileSync(join(v2, 'cpu.stat'), 'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n');
    writeFileSync(join(v2, 'memory.current'), '10485760\n');
    writeFileSync(join(v2, 'memory.stat'), 'anon 4194304\ninactive_file 1048576\n');
    writeFileSync(join(v2, 'memory.max'), 'max\n');
    writeFileSync(join(v2, 'cgroup.procs'), '');
    assert.deepEqual(await cgroupUsage({ v2 }), { cpuSeconds: 2.5, memoryBytes: 9_437_184 });
    writeFileSync(join(v2, 'memory.max'), '536870912\n');
    assert.equal((await cgroupUsage({ v2 })).memoryLimitBytes, 536_870_912);

    const memory = join(dir, 'v1-memory');
    const cpuacct = join(dir, 'v1-cpuacct');
    for (const d of [memory, cpuacct]) mkdirSync(d, { recursive: true });
    writeFileSync(join(cpuacct, 'cpuacct.usage'), '1500000000\n');
    writeFileSync(join(memory, 'memory.usage_in_bytes'), '2097152\n');
    writeFileSync(join(memory, 'memory.limit_in_bytes'), '9223372036854771712\n');
    writeFileSync(join(memory, 'memory.stat'), 'cache 0\ntotal_inactive_file 1048576\n');
    // This process stands in for a workspace's: its namespace's counters are read through it.
    writeFileSync(join(memory, 'cgroup.procs'), `${process.pid}\n`);
    const usage = await cgroupUsage({ memory, cpuacct });
    assert.equal(usage.cpuSeconds, 1.5);
    assert.equal(usage.memoryBytes, 1_048_576);
    assert.equal(usage.memoryLimitBytes, undefined, 'the kernel’s "no limit" is no limit');
    assert.equal(typeof usage.receiveBytes, 'number');
  });

  test('namespace traffic leaves out loopback; odd pids read nothing', async () => {
    const own = await namespaceTraffic(process.pid);
    assert.ok(own && own.receiveBytes >= 0 && own.transmitBytes >= 0);
    assert.equal(await namespaceTraffic(0), undefined);
    assert.equal(await namespaceTraffic(Number.NaN), undefined);
    assert.equal(realLimit(2 ** 63), undefined);
    assert.equal(realLimit(1024), 1024);
  });

  test('stream kinds become label values', () => {
    assert.equal(streamKindLabel('exec output'), 'exec_output');
    assert.equal(streamKindLabel('AI answer'), 'ai_answer');
  });
});
