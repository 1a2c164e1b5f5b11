import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { freePort } from '../../scripts/lib/free-port.ts';

const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]);

describe('freePort (scripts/lib/free-port.ts)', () => {
  it('names ports below the ephemeral range, where no outgoing connection takes them, and they bind', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) {
      assert.ok(port >= 10_000 && port < ephemeralStart, `${port} (ephemeral from ${ephemeralStart})`);
      const srv = createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, '127.0.0.1', resolve);
      });
      await new Promise((r) => srv.close(r));
    }
    assert.ok(new Set(ports).size > 15, 'spread over the range');
  });

  it('the shell function prints one', () => {
    const root = new URL('../..', import.meta.url).pathname;
    const out = execFileSync('bash', ['-c', 'source scripts/lib/common.sh; keel_free_port'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    assert.match(out, /^\d+$/);
    assert.ok(Number(out) < ephemeralStart);
  });
});
