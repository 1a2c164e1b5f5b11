/**
 * The shipped monitoring configuration, checked by the tools that will read it: Debian's
 * promtool checks and unit-tests the alert rules (deploy/monitoring/alerts.test.yml: each alert
 * firing past its threshold and quiet at it) and the example Prometheus configuration, and amtool
 * checks the Alertmanager configuration that scripts/monitoring-config renders. Also the
 * renderer's refusals: a setting that would change the YAML around it never gets through.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  fillTemplate,
  MonitoringConfigError,
  parseAlertRoutingEnv,
  renderAlertmanagerConfig,
} from '../../scripts/lib/monitoring-config.ts';

const run = promisify(execFile);
const monitoring = new URL('../../deploy/monitoring/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'keel-alert-rules-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs a tool and returns its output; a failure shows what the tool said. */
async function tool(cmd: string, args: string[], cwd = monitoring): Promise<string> {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd, timeout: 60_000 });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    assert.fail(`${cmd} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

const SAMPLE_ROUTING_ENV = {
  KEEL_ALERT_SMTP_SMARTHOST: 'mail.example.com:587',
  KEEL_ALERT_SMTP_FROM: 'keel-alerts@example.com',
  KEEL_ALERT_EMAIL_TO: 'ops@example.com,oncall@example.com',
  KEEL_ALERT_SMTP_USERNAME: 'keel-alerts',
  KEEL_ALERT_SMTP_PASSWORD: 'smtp "secret"',
  KEEL_ALERT_SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/XXXX',
  KEEL_ALERT_SLACK_CHANNEL: '#keel-alerts',
};

describe('alert rules (promtool)', () => {
  test('promtool check rules accepts alerts.yml', async () => {
    const out = await tool('promtool', ['check', 'rules', 'alerts.yml']);
    assert.match(out, /SUCCESS: \d+ rules found/);
  });

  test('promtool test rules: every alert fires past its threshold and stays quiet at it', async () => {
    const out = await tool('promtool', ['test', 'rules', 'alerts.test.yml']);
    assert.match(out, /SUCCESS/);
    // Every alert in the rules has a test that expects it to fire.
    const alerts = [
      ...readFileSync(join(monitoring, 'alerts.yml'), 'utf8').matchAll(/^\s*- alert: (\w+)$/gm),
    ].map((m) => m[1]);
    const tests = readFileSync(join(monitoring, 'alerts.test.yml'), 'utf8');
    for (const name of alerts) {
      assert.match(
        tests,
        new RegExp(`alertname: ${name}\\n\\s+exp_alerts:\\n\\s+- exp_labels`),
        `${name} never fires in a test`,
      );
      assert.match(
        tests,
        new RegExp(`alertname: ${name}\\n\\s+exp_alerts: \\[\\]`),
        `${name} is never tested quiet`,
      );
    }
  });

  test('every alert has a severity, a summary, a description and a runbook', () => {
    const text = readFileSync(join(monitoring, 'alerts.yml'), 'utf8');
    const rules = text.split(/^\s*- alert: /m).slice(1);
    assert.ok(rules.length >= 12);
    for (const rule of rules) {
      const name = rule.split('\n')[0];
      assert.match(rule, /severity: (critical|warning)\n/, `${name}: severity`);
      for (const key of ['summary', 'description', 'runbook'])
        assert.match(rule, new RegExp(`\\n\\s+${key}: "`), `${name}: ${key}`);
    }
  });

  test('promtool check config accepts the example prometheus.yml', async () => {
    // The bearer token file must exist for the check: Prometheus reads it at start.
    const dir = mkdtempSync(join(tmp, 'prometheus-'));
    for (const f of ['prometheus.yml', 'alerts.yml']) copyFileSync(join(monitoring, f), join(dir, f));
    writeFileSync(join(dir, 'keel-metrics-token'), 'token');
    writeFileSync(join(dir, 'keel-runner-metrics-token'), 'token');
    const out = await tool('promtool', ['check', 'config', 'prometheus.yml'], dir);
    assert.match(out, /SUCCESS: 1 rule files found/);
  });
});

describe('alertmanager.yml rendered by scripts/monitoring-config', () => {
  test('amtool check-config accepts the rendered configuration; secrets are in 0600 files, not in it', async () => {
    const dir = join(tmp, 'rendered');
    const { configPath, secretPaths } = renderAlertmanagerConfig(SAMPLE_ROUTING_ENV, dir);
    const out = await tool('amtool', ['check-config', configPath]);
    assert.match(out, /SUCCESS/);
    assert.match(out, /1 receivers/);
    const config = readFileSync(configPath, 'utf8');
    assert.equal(config.includes('XXXX'), false);
    assert.equal(config.includes('secret'), false);
    assert.match(config, /smtp_smarthost: "mail\.example\.com:587"/);
    assert.match(config, /to: "ops@example\.com,oncall@example\.com"/);
    assert.match(config, /group_wait: "30s"/);
    assert.equal(secretPaths.length, 2);
    for (const p of secretPaths) assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, 'smtp-password'), 'utf8'), 'smtp "secret"');
  });

  test('webhook and password given as files are named by absolute path and copied nowhere', async () => {
    const dir = join(tmp, 'by-file');
    const { configPath, secretPaths } = renderAlertmanagerConfig(
      {
        KEEL_ALERT_SMTP_SMARTHOST: 'mail.example.com:25',
        KEEL_ALERT_SMTP_FROM: 'keel@example.com',
        KEEL_ALERT_EMAIL_TO: 'ops@example.com',
        KEEL_ALERT_SMTP_REQUIRE_TLS: 'false',
        KEEL_ALERT_SLACK_WEBHOOK_URL_FILE: '/etc/alertmanager/slack-url',
        KEEL_ALERT_GROUP_WAIT: '1s',
        KEEL_ALERT_REPEAT_INTERVAL: '1h30m',
      },
      dir,
    );
    assert.deepEqual(secretPaths, []);
    const config = readFileSync(configPath, 'utf8');
    assert.match(config, /slack_api_url_file: "\/etc\/alertmanager\/slack-url"/);
    assert.match(config, /smtp_auth_password_file: ""/);
    assert.match(config, /smtp_require_tls: false/);
    assert.match(config, /repeat_interval: "1h30m"/);
  });

  test('refuses what is missing, malformed or would break out of its YAML string', () => {
    const bad = (env: Record<string, string>, what: RegExp) =>
      assert.throws(
        () => parseAlertRoutingEnv(env),
        (err: unknown) => err instanceof MonitoringConfigError && what.test(err.message),
      );
    bad({}, /KEEL_ALERT_SMTP_SMARTHOST: is required[\s\S]*KEEL_ALERT_EMAIL_TO: is required/);
    bad(
      { ...SAMPLE_ROUTING_ENV, KEEL_ALERT_SLACK_CHANNEL: '#a"\n  smtp_require_tls: false' },
      /KEEL_ALERT_SLACK_CHANNEL/,
    );
    bad({ ...SAMPLE_ROUTING_ENV, KEEL_ALERT_SMTP_SMARTHOST: 'mail.example.com' }, /host:port/);
    bad(
      { ...SAMPLE_ROUTING_ENV, KEEL_ALERT_EMAIL_TO: 'ops@example.com,not-an-address' },
      /KEEL_ALERT_EMAIL_TO/,
    );
    bad({ ...SAMPLE_ROUTING_ENV, KEEL_ALERT_GROUP_WAIT: '30 seconds' }, /duration/);
    bad({ ...SAMPLE_ROUTING_ENV, KEEL_ALERT_SMTP_REQUIRE_TLS: 'yes' }, /KEEL_ALERT_SMTP_REQUIRE_TLS/);
    bad(
      { ...SAMPLE_ROUTING_ENV, KEEL_ALERT_SLACK_WEBHOOK_URL: 'file:///etc/passwd' },
      /KEEL_ALERT_SLACK_WEBHOOK_URL/,
    );
    bad({ ...SAMPLE_ROUTING_ENV, KEEL_ALERT_SLACK_WEBHOOK_URL_FILE: '/x' }, /not both|one of/);
    bad({ ...SAMPLE_ROUTING_ENV, KEEL_ALERT_SMTP_PASSWORD_FILE: '/x' }, /not both/);
  });

  test('a quote or backslash in a value stays inside its YAML string', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the template's own placeholder syntax.
    const x = 'a: "${KEEL_ALERT_X}"';
    // biome-ignore lint/suspicious/noTemplateCurlyInString: as above.
    const y = 'a: "${KEEL_ALERT_Y}"';
    assert.equal(fillTemplate(x, { KEEL_ALERT_X: 'say "hi" \\o/' }), 'a: "say \\"hi\\" \\\\o/"');
    assert.throws(() => fillTemplate(y, {}), /KEEL_ALERT_Y/);
  });
});
