/*
 * An attacker in a workspace, on each driver: what its network reaches. Every target has a real
 * listener behind it, so a rule that stopped working would let the connection through.
 *
 * The "internet" is a test host in a network namespace this file makes (a veth pair; addresses in
 * TEST-NET-2 and one private /30), and 169.254.169.254 is routed into that same namespace: no
 * probe can leave this machine, whatever the rules do.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type ServerType, serve } from '@hono/node-server';
import { DockerDriver } from '../../runners/src/workloads/docker.ts';
import { hostIPv4Addresses } from '../../runners/src/workloads/egress-rules.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import type { WorkloadDriver, WorkloadSpec } from '../../runners/src/workloads/types.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';
import { ensureDockerAndImage, removeStale } from '../runner/docker-helper.ts';
import { collect, waitForOutput } from '../runner/exec-util.ts';

const isRoot = process.getuid?.() === 0;
const tag = String(process.pid % 100000);
const TEST_NS = `keel-nettest-${tag}`;
const VETH_HOST = `knt${tag}h`;
const VETH_NS = `knt${tag}n`;
// /30s: narrow routes, more specific than any wider one the host may already have.
const HOST_SIDE = '198.51.100.201';
const INTERNET = '198.51.100.202';
const PRIVATE_HOST_SIDE = '10.213.77.1';
const PRIVATE = '10.213.77.2';
const METADATA = '169.254.169.254';
const INTERNET_PORT = 8088;
const BANNER = 'keel-test-host';
const WS_PORT = 7781;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const quiet = (f: () => unknown) => {
  try {
    f();
  } catch {}
};

function listen(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => c.end('host-service\n'));
    s.once('error', reject);
    s.listen(0, host, () => resolve(s));
  });
}
const portOf = (s: Server) => (s.address() as { port: number }).port;

/** One exec that tries every target at once; each line: "<name> open" or "<name> closed". */
function probeScript(targets: Record<string, string>): string {
  const lines = Object.entries(targets).map(
    ([name, hostPort]) =>
      `(if timeout 3 bash -c 'exec 3<>/dev/tcp/${hostPort.replace(':', '/')}' 2>/dev/null; then echo "${name} open"; else echo "${name} closed"; fi) &`,
  );
  return `${lines.join('\n')}\nwait`;
}

async function reach(driver: WorkloadDriver, id: string, targets: Record<string, string>) {
  const r = await collect(driver.exec(id, { argv: ['bash', '-c', probeScript(targets)], timeoutMs: 20_000 }));
  assert.equal(r.exitCode, 0, r.stderr);
  const out: Record<string, string> = {};
  for (const line of r.stdout.trim().split('\n')) {
    const [name, state] = line.split(' ');
    if (name && state) out[name] = state;
  }
  return out;
}

const PERL_LISTENER = `use IO::Socket::INET; $| = 1;
my $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => ${WS_PORT}, Listen => 5, ReuseAddr => 1) or die "listen: $!";
print "listening\\n"; while (my $c = $s->accept) { print $c "ws-b\\n"; close $c }`;

describe('attacker workspace: what a workspace network reaches', {
  skip: !isRoot && 'needs root (namespaces, nft)',
}, () => {
  let internet: ChildProcess | undefined;
  const servers: Server[] = [];
  const targets: Record<string, string> = {};
  /** The real edge on loopback, as `scripts/up` serves it. */
  let edge: TestApp | undefined;
  let edgeServer: ServerType | undefined;

  before(async () => {
    ip('netns', 'add', TEST_NS);
    ip('link', 'add', VETH_HOST, 'type', 'veth', 'peer', 'name', VETH_NS);
    ip('link', 'set', VETH_NS, 'netns', TEST_NS);
    ip('addr', 'add', `${HOST_SIDE}/30`, 'dev', VETH_HOST);
    ip('addr', 'add', `${PRIVATE_HOST_SIDE}/30`, 'dev', VETH_HOST);
    ip('link', 'set', VETH_HOST, 'up');
    ip('-n', TEST_NS, 'addr', 'add', `${INTERNET}/30`, 'dev', VETH_NS);
    ip('-n', TEST_NS, 'addr', 'add', `${PRIVATE}/30`, 'dev', VETH_NS);
    ip('-n', TEST_NS, 'addr', 'add', `${METADATA}/32`, 'dev', VETH_NS);
    ip('-n', TEST_NS, 'link', 'set', VETH_NS, 'up');
    ip('-n', TEST_NS, 'link', 'set', 'lo', 'up');
    ip('-n', TEST_NS, 'route', 'add', 'default', 'via', HOST_SIDE);
    // The metadata address leads into the test namespace, never to a real one.
    ip('route', 'add', `${METADATA}/32`, 'via', INTERNET, 'dev', VETH_HOST);
    internet = spawn(
      'ip',
      [
        'netns',
        'exec',
        TEST_NS,
        process.execPath,
        '-e',
        `const net = require('node:net');
         for (const port of [${INTERNET_PORT}, 80]) net.createServer((c) => c.end('${BANNER}\\n')).listen(port, '0.0.0.0');
         setTimeout(() => console.log('ready'), 100);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => internet?.stdout?.once('data', () => resolve()));

    const loopback = await listen('127.0.0.1');
    const everywhere = await listen('0.0.0.0');
    servers.push(loopback, everywhere);
    const redis = new URL(process.env.KEEL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    const pg = new URL(process.env.KEEL_TEST_PG_URL ?? 'postgres://127.0.0.1:5432/x');
    targets.redis = `${redis.hostname}:${redis.port || 6379}`;
    targets.postgres = `${pg.hostname}:${pg.port || 5432}`;
    targets.loopback = `127.0.0.1:${portOf(loopback)}`;
    targets.loopback2 = `127.0.0.2:${portOf(loopback)}`;
    targets.gateway = `10.0.2.2:${portOf(everywhere)}`;
    targets.metadata = `${METADATA}:80`;
    targets.private = `${PRIVATE}:${INTERNET_PORT}`;
    for (const [i, address] of hostIPv4Addresses().entries()) {
      targets[`host${i}`] = `${address}:${portOf(everywhere)}`;
    }
    edge = await createTestApp();
    const app = edge.app;
    edgeServer = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    targets.edge = `127.0.0.1:${portOf(edgeServer as Server)}`;
  });

  after(async () => {
    internet?.kill('SIGKILL');
    for (const s of servers) s.close();
    edgeServer?.close();
    await edge?.close();
    quiet(() => ip('route', 'del', `${METADATA}/32`, 'via', INTERNET, 'dev', VETH_HOST));
    quiet(() => ip('link', 'del', VETH_HOST));
    quiet(() => ip('netns', 'delete', TEST_NS));
  });

  it('the edge answers on the host (so a refusal from a workspace means something)', async () => {
    const res = await fetch(`http://${targets.edge}/healthz`);
    assert.equal(res.status, 200);
  });

  it('the test host answers from its own namespace (the harness works)', () => {
    const out = execFileSync('ip', [
      'netns',
      'exec',
      TEST_NS,
      'bash',
      '-c',
      `exec 3<>/dev/tcp/${INTERNET}/${INTERNET_PORT}; head -1 <&3`,
    ]).toString();
    assert.equal(out.trim(), BANNER);
  });

  for (const kind of ['process', 'docker'] as const) {
    describe(`${kind} driver`, () => {
      let driver: WorkloadDriver;
      let base: string;
      const prefix = `wsnet-${kind[0]}${tag}-`;
      const ids = { a: `${prefix}a`, b: `${prefix}b`, off: `${prefix}off`, allow: `${prefix}allow` };
      let listener: ReturnType<WorkloadDriver['exec']> | undefined;
      let bAddresses: string[] = [];

      const spec = (workspaceId: string, over: Partial<WorkloadSpec> = {}): WorkloadSpec => ({
        workspaceId,
        cpus: 0.5,
        memoryMb: 128,
        pidsLimit: 64,
        network: true,
        storage: { kind: 'volume' },
        ...over,
      });

      before(async () => {
        base = mkdtempSync('/tmp/keel-wsnet-');
        chmodSync(base, 0o711);
        if (kind === 'docker') {
          await ensureDockerAndImage();
          await removeStale(prefix);
          driver = new DockerDriver({ networkStateDir: `${base}/net` });
        } else {
          driver = new ProcessDriver({ root: `${base}/root` });
        }
        await driver.create(spec(ids.a));
        await driver.create(spec(ids.b));
        await driver.create(spec(ids.off, { network: false }));
        await driver.create(spec(ids.allow, { egressAllow: [`${PRIVATE}/32:${INTERNET_PORT}`] }));
        for (const id of Object.values(ids)) await driver.start(id);
        listener = driver.exec(ids.b, { argv: ['perl', '-e', PERL_LISTENER] });
        await waitForOutput(listener, 'listening');
        const r = await collect(
          driver.exec(ids.b, {
            argv: [
              'bash',
              '-c',
              "ip -4 -o addr 2>/dev/null | awk '{print $4}' || true; cat /proc/net/fib_trie",
            ],
          }),
        );
        bAddresses = [...new Set(r.stdout.match(/\b\d+\.\d+\.\d+\.\d+\b/g) ?? [])].filter(
          (a) => !a.startsWith('0.') && !a.endsWith('.255') && !a.endsWith('.0'),
        );
      });

      after(async () => {
        await listener?.kill();
        for (const id of Object.values(ids)) await driver.remove(id, { keepData: false }).catch(() => {});
        rmSync(base, { recursive: true, force: true });
      });

      it('reaches the internet (the test host) and nothing of the control plane, the host or the metadata address', async () => {
        const out = await reach(driver, ids.a, { internet: `${INTERNET}:${INTERNET_PORT}`, ...targets });
        const { internet: open, ...rest } = out;
        assert.equal(open, 'open', 'the test host is reachable');
        for (const [name, state] of Object.entries(rest))
          assert.equal(state, 'closed', `${name} (${targets[name]})`);
        assert.equal(Object.keys(rest).length, Object.keys(targets).length);
      });

      it('reaches no port of another running workspace', async () => {
        const other: Record<string, string> = { loopback: `127.0.0.1:${WS_PORT}` };
        for (const [i, a] of [...bAddresses, ...hostIPv4Addresses()].entries())
          other[`b${i}`] = `${a}:${WS_PORT}`;
        // The listener answers inside its own workspace: the probe would see it were it reachable.
        const own = await reach(driver, ids.b, { self: `127.0.0.1:${WS_PORT}` });
        assert.equal(own.self, 'open');
        const out = await reach(driver, ids.a, other);
        for (const [name, state] of Object.entries(out))
          assert.equal(state, 'closed', `${name} (${other[name]})`);
      });

      it('a workspace without network reaches nothing, not even the test host', async () => {
        const out = await reach(driver, ids.off, { internet: `${INTERNET}:${INTERNET_PORT}`, ...targets });
        for (const [name, state] of Object.entries(out)) assert.equal(state, 'closed', name);
      });

      it('an admin-allowed private destination becomes reachable, and only that one', async () => {
        const out = await reach(driver, ids.allow, {
          allowed: `${PRIVATE}:${INTERNET_PORT}`,
          otherPort: `${PRIVATE}:80`,
          internet: `${INTERNET}:${INTERNET_PORT}`,
          redis: targets.redis ?? '',
          metadata: `${METADATA}:80`,
        });
        assert.deepEqual(out, {
          allowed: 'open',
          otherPort: 'closed',
          internet: 'open',
          redis: 'closed',
          metadata: 'closed',
        });
      });

      it('the list given at a later start replaces the one the workspace was made with', async () => {
        const probe = { allowed: `${PRIVATE}:${INTERNET_PORT}`, internet: `${INTERNET}:${INTERNET_PORT}` };
        await driver.stop(ids.allow);
        await driver.start(ids.allow, { egressAllow: [] });
        assert.deepEqual(await reach(driver, ids.allow, probe), { allowed: 'closed', internet: 'open' });
        await driver.stop(ids.allow);
        await driver.start(ids.allow, { egressAllow: [`${PRIVATE}/32:${INTERNET_PORT}`] });
        assert.deepEqual(await reach(driver, ids.allow, probe), { allowed: 'open', internet: 'open' });
        await assert.rejects(driver.start(ids.allow, { egressAllow: ['10.0.0.1/8'] }), /egressAllow/);
      });

      it('the workspace user cannot change its rules', async () => {
        const r = await collect(
          driver.exec(ids.a, {
            argv: ['bash', '-c', 'nft flush ruleset 2>&1; ip link set tap0 down 2>&1; echo done'],
          }),
        );
        assert.match(r.stdout, /done/);
        const out = await reach(driver, ids.a, {
          metadata: `${METADATA}:80`,
          internet: `${INTERNET}:${INTERNET_PORT}`,
        });
        assert.deepEqual(out, { metadata: 'closed', internet: 'open' });
      });
    });
  }
});
