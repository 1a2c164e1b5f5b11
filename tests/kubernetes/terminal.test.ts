import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTty } from '../../runners/src/terminal/open-tty.ts';
import type { Tty } from '../../runners/src/terminal/tty.ts';
import { type KubernetesDriver, makeKubernetesDriver } from '../../runners/src/workloads/kubernetes.ts';
import {
  type KubernetesApiStandin,
  startKubernetesApiStandin,
} from '../harness/kubernetes-api-standin/server.ts';
import { ensureDockerAndImage } from '../runner/docker-helper.ts';
import { collect } from '../runner/exec-util.ts';
import { readmeClusterRole } from './readme-rbac.ts';

const id = `ws_k8stty${process.pid}`;

function screen(tty: Tty): { text(): string; waitFor(re: RegExp, ms?: number): Promise<void> } {
  let text = '';
  const waiters: Array<() => void> = [];
  tty.onData((t) => {
    text += t;
    for (const w of waiters.splice(0)) w();
  });
  return {
    text: () => text,
    waitFor(re, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${re} in ${JSON.stringify(text)}`)),
          ms,
        );
        const check = () => {
          if (re.test(text)) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

describe('kubernetes terminal against the API stand-in', () => {
  let standin: KubernetesApiStandin;
  let driver: KubernetesDriver;

  before(async () => {
    await ensureDockerAndImage();
    standin = await startKubernetesApiStandin({
      instance: `k8s-tty-${process.pid}`,
      users: [{ name: 'keel-runner', rules: readmeClusterRole() }],
    });
    driver = await makeKubernetesDriver(await standin.access('keel-runner'));
    await driver.create({
      workspaceId: id,
      cpus: 0.5,
      memoryMb: 128,
      network: false,
      storage: { kind: 'volume' },
    });
    await driver.start(id);
  });

  after(async () => {
    await driver?.remove(id, { keepData: false }).catch(() => {});
    await driver?.close();
    await standin?.stop();
  });

  it('opens a shell on a TTY of the given size, resizes it, and reports the exit code', async () => {
    const tty = await openTty(driver, id, { cols: 100, rows: 30 });
    const s = screen(tty);
    tty.write('stty size; echo "term=$TERM"; pwd\n');
    await s.waitFor(/30 100/);
    await s.waitFor(/term=xterm-256color/);
    await s.waitFor(/\/workspace/);
    tty.resize(120, 40);
    tty.write('stty size\n');
    await s.waitFor(/40 120/);
    tty.write('exit 3\n');
    assert.deepEqual(await tty.exited, { exitCode: 3 });
  });

  it('kill ends the shell and what it started', async () => {
    const tty = await openTty(driver, id, { cols: 80, rows: 24 });
    tty.write('sleep 412 & sleep 413\n');
    const processes = async () =>
      (
        await collect(
          driver.exec(id, {
            argv: ['sh', '-c', 'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; done'],
          }),
        )
      ).stdout;
    for (let i = 0; i < 50 && !/sleep 413/.test(await processes()); i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(await processes(), /sleep 413/);
    await tty.kill();
    const r = await tty.exited;
    assert.notEqual(r.exitCode, 0);
    assert.ok(!/sleep 41[23]/.test(await processes()));
    assert.deepEqual(standin.denied, []);
  });
});
