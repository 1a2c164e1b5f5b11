/**
 * The production Workers configuration (deploy/cloudflare/wrangler.toml) builds:
 * `wrangler deploy --dry-run` bundles the workerd entry and the web app's assets offline and
 * lists the bindings it would deploy (Hyperdrive for PostgreSQL among them).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const config = join(root, 'deploy/cloudflare/wrangler.toml');
const out = mkdtempSync(join(tmpdir(), 'keel-cf-'));
after(() => rmSync(out, { recursive: true, force: true }));
let printed = '';

before(
  async () => {
    // scripts/test builds the web app before the suites; a file run on its own may need it (about 35 s).
    if (!existsSync(join(root, 'web/dist/index.html'))) {
      await run('npm', ['run', '--silent', 'build', '-w', '@keel/web'], { cwd: root, maxBuffer: 32 << 20 });
    }
    const { stdout, stderr } = await run(
      join(root, 'node_modules/.bin/wrangler'),
      ['deploy', '--dry-run', '--outdir', out, '--metafile', join(out, 'meta.json'), '-c', config],
      {
        cwd: root,
        // Offline: no telemetry, no account, no prompts.
        env: { PATH: process.env.PATH, HOME: out, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' },
        maxBuffer: 32 << 20,
      },
    );
    printed = stdout + stderr;
  },
  { timeout: 120_000 },
);

describe('wrangler deploy --dry-run of the production configuration', () => {
  it('bundles the workerd entry (and not the Node one)', () => {
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as {
      inputs: Record<string, unknown>;
      outputs: Record<string, { entryPoint?: string; bytes: number }>;
    };
    const bundle = Object.values(meta.outputs).find((o) =>
      o.entryPoint?.endsWith('edge/src/entry-workerd.ts'),
    );
    assert.ok(bundle, JSON.stringify(Object.keys(meta.outputs)));
    // Workers refuse scripts over 10 MiB (paid plan, before compression).
    assert.ok(bundle.bytes > 100_000 && bundle.bytes < 10 * 1024 * 1024, `${bundle.bytes} bytes`);
    const inputs = Object.keys(meta.inputs);
    assert.ok(inputs.some((i) => i.endsWith('edge/src/app.ts')));
    assert.ok(
      !inputs.some((i) => /edge\/src\/entry-node\.ts|ldap-directory\.ts|node_modules\/ldapts\//.test(i)),
      'Node-only modules bundled',
    );
  });

  it('binds Hyperdrive, the web app as assets and the production settings', () => {
    assert.match(printed, /env\.HYPERDRIVE \(\w+\)\s+Hyperdrive Config/);
    assert.match(printed, /env\.ASSETS\s+Assets/);
    assert.match(printed, /Read \d+ files from the assets directory/);
    assert.match(printed, /env\.KEEL_PUBLIC_URL \("https:\/\/keel\.example\.com"\)/);
    assert.match(printed, /--dry-run: exiting now/);
  });

  it('runs on the same workerd as `wrangler dev` (the tested one): date and flags as wrangler.toml', () => {
    const setting = (text: string, name: string) => new RegExp(`^${name} = (.*)$`, 'm').exec(text)?.[1];
    const dev = readFileSync(join(root, 'wrangler.toml'), 'utf8');
    const prod = readFileSync(config, 'utf8');
    for (const name of ['compatibility_date', 'compatibility_flags']) {
      assert.ok(setting(dev, name));
      assert.equal(setting(prod, name), setting(dev, name), name);
    }
  });
});
