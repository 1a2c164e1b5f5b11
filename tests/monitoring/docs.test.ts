/**
 * docs/OBSERVABILITY.md stays true: its metric tables are what the contract exports, every
 * alert in alerts.yml has its row and the runbook section its `runbook` line points to, and
 * every KEEL_ALERT_* setting the renderer reads is documented; the README's scrape example is
 * one Prometheus accepts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DOC_PATH, withCurrentTables } from '../../scripts/lib/metrics-table.ts';
import { AlertRoutingEnv } from '../../scripts/lib/monitoring-config.ts';

const doc = readFileSync(DOC_PATH, 'utf8');
const alerts = readFileSync(new URL('../../deploy/monitoring/alerts.yml', import.meta.url), 'utf8');

/** GitHub's anchor for a heading: lower case, spaces to dashes, punctuation dropped. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\w\s-]/g, '')
    .replace(/\s/g, '-');

describe('docs/OBSERVABILITY.md', () => {
  test('the metric tables are current (else: node --import tsx scripts/lib/metrics-table.ts)', () => {
    assert.equal(doc, withCurrentTables(doc));
  });

  test('every alert has a row, and its runbook line points to a section of this page', () => {
    const anchors = new Set([...doc.matchAll(/^#{2,4} (.+)$/gm)].map((m) => anchor(m[1] ?? '')));
    const names = [...alerts.matchAll(/^\s*- alert: (\w+)$/gm)].map((m) => m[1]);
    assert.ok(names.length >= 12);
    for (const name of names)
      assert.match(doc, new RegExp(`^\\| \`${name}\` \\|`, 'm'), `${name} has no row`);
    const runbooks = [...alerts.matchAll(/runbook: "docs\/OBSERVABILITY\.md#([\w-]+):/g)].map(
      (m) => m[1] ?? '',
    );
    assert.equal(runbooks.length, names.length, 'every alert has a runbook line into this page');
    for (const r of runbooks) assert.ok(anchors.has(r), `no section for #${r}`);
  });

  test("the README's Monitoring section carries a scrape configuration promtool accepts", async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = /^## Monitoring\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
    assert.match(section, /docs\/OBSERVABILITY\.md/);
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(yaml, 'a yaml block');
    const dir = mkdtempSync(join(tmpdir(), 'keel-readme-scrape-'));
    try {
      writeFileSync(join(dir, 'prometheus.yml'), yaml);
      writeFileSync(join(dir, 'keel-metrics-token'), 'token');
      writeFileSync(join(dir, 'keel-runner-metrics-token'), 'token');
      const { stdout } = await promisify(execFile)('promtool', [
        'check',
        'config',
        join(dir, 'prometheus.yml'),
      ]);
      assert.match(stdout, /SUCCESS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every alert routing setting is documented', () => {
    const settings = Object.keys(AlertRoutingEnv.def.shape ?? {});
    assert.ok(settings.length >= 10);
    for (const s of settings) assert.ok(doc.includes(`\`${s}\``), `${s} is not documented`);
  });
});
