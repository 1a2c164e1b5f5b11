/**
 * Alert routing through a real Alertmanager (Debian's prometheus-alertmanager) running the
 * shipped configuration, rendered by scripts/monitoring-config with short group intervals:
 * an alert arrives by e-mail at an SMTP server started here (the smtp-server package, with
 * authentication) and at a local HTTP endpoint standing in for Slack's incoming webhook.
 *
 * Two ways in: an alert posted to Alertmanager's API v2, and a real Prometheus running the
 * shipped alerts.yml and prometheus.yml, behind the bearer token: a synthetic endpoint with a
 * broken audit chain (fires at once), then a real runner's metrics endpoint, and the runner
 * stopped (`up == 0`, with the rules' `for:` shortened to seconds).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../harness/ports.ts';
import { startRig } from '../harness/runner-rig.ts';
import {
  type AlertInbox,
  type StartedAlertmanager,
  startAlertInbox,
  startAlertmanager,
  startRulesPrometheus,
} from './alerting-rig.ts';

const METRICS_TOKEN = 'metrics-token-for-the-test';

/** A metrics endpoint serving `body`, only to requests with the token; it records each scrape's token. */
async function syntheticEndpoint(
  body: string,
): Promise<{ server: Server; target: string; tokens: string[] }> {
  const tokens: string[] = [];
  const server = createServer((req, res) => {
    tokens.push(req.headers.authorization ?? '');
    if (req.headers.authorization !== `Bearer ${METRICS_TOKEN}`) {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { server, target: `127.0.0.1:${port}`, tokens };
}
const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

describe('alert routing: Alertmanager to e-mail (SMTP server) and the Slack webhook stand-in', () => {
  let inbox: AlertInbox;
  let alertmanager: StartedAlertmanager;

  before(async () => {
    inbox = await startAlertInbox();
    alertmanager = await startAlertmanager(inbox);
  });

  after(async () => {
    await alertmanager?.stop();
    await inbox?.stop();
  });

  test('an alert posted to the API v2 arrives by e-mail and at the Slack webhook stand-in', async () => {
    const res = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          labels: {
            alertname: 'KeelEdgeDown',
            severity: 'critical',
            job: 'keel-edge',
            instance: 'edge-a:9464',
          },
          annotations: {
            summary: 'Edge edge-a:9464 is down',
            description: 'Prometheus has not reached the edge for 2 minutes.',
            runbook: 'docs/OBSERVABILITY.md#edge-down',
          },
          startsAt: new Date().toISOString(),
        },
      ]),
    });
    assert.equal(res.status, 200, await res.text());

    const { mail, post } = await inbox.delivered('KeelEdgeDown');
    assert.equal(mail.from, 'keel-alerts@example.com');
    assert.deepEqual(mail.to.sort(), ['oncall@example.com', 'ops@example.com']);
    assert.match(mail.raw, /^Subject: \[FIRING:1\] KeelEdgeDown/m);
    assert.equal(post.path, '/services/T000/B000/slack-stand-in');
    assert.equal(post.body.channel, '#keel-alerts');
    const attachment = post.body.attachments?.[0];
    assert.match(attachment?.title ?? '', /^\[FIRING\] KeelEdgeDown$/);
    assert.match(attachment?.text ?? '', /Edge edge-a:9464 is down: Prometheus has not reached the edge/);
  });

  test('Prometheus with the shipped rules and scrape configuration fires on a broken audit chain', async () => {
    const edge = await syntheticEndpoint(
      [
        '# TYPE keel_audit_chain_verified gauge',
        'keel_audit_chain_verified{organization="org_tampered"} 0',
        'keel_audit_chain_verified{organization="org_sound"} 1',
        '',
      ].join('\n'),
    );
    const prometheus = await startRulesPrometheus({
      alertmanagerUrl: alertmanager.url,
      edgeTargets: [edge.target],
      runnerTargets: [],
      metricsToken: METRICS_TOKEN,
    });
    try {
      const { mail, post } = await inbox.delivered('KeelAuditChainBroken');
      assert.match(mail.raw, /org_tampered/);
      assert.equal(mail.raw.includes('org_sound'), false);
      assert.match(
        post.body.attachments?.[0]?.text ?? '',
        /Audit chain of organization org_tampered failed verification/,
      );
      assert.ok(edge.tokens.length > 0);
      assert.ok(
        edge.tokens.every((a) => a === `Bearer ${METRICS_TOKEN}`),
        'every scrape carried the token',
      );
    } finally {
      await prometheus.stop();
      await close(edge.server);
    }
  });

  test('a real runner that stops fires KeelRunnerDown, by e-mail and to Slack (for: shortened to 2s)', async () => {
    // A whole Keel (edge, Redis, a runner on the process driver) whose runner serves its metrics.
    const port = await freePort();
    const rig = await startRig('process', {
      runnerEnv: { KEEL_RUNNER_METRICS_PORT: String(port), KEEL_RUNNER_METRICS_TOKEN: METRICS_TOKEN },
    });
    const target = `127.0.0.1:${port}`;
    const prometheus = await startRulesPrometheus({
      alertmanagerUrl: alertmanager.url,
      edgeTargets: [],
      runnerTargets: [target],
      metricsToken: METRICS_TOKEN,
      ruleFor: '2s',
    });
    try {
      // Scraped while up (through the token): the alert must wait for the stop.
      const query = async (q: string) => {
        const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(q)}`);
        const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
        return body.data.result[0]?.value[1];
      };
      const deadline = Date.now() + 30_000;
      while ((await query('up{job="keel-runner"}')) !== '1') {
        assert.ok(Date.now() < deadline, 'the runner was never scraped');
        await new Promise((r) => setTimeout(r, 200));
      }
      // The runner's own series, as Prometheus stored them (a count per workspace state).
      assert.ok(Number(await query('count(keel_runner_workspaces)')) > 0, 'the runner series were stored');
      assert.equal(
        inbox.mails.some((m) => m.raw.includes('KeelRunnerDown')),
        false,
      );
      await rig.runner.stop();
      const { mail, post } = await inbox.delivered('KeelRunnerDown');
      assert.match(mail.raw, new RegExp(`Runner ${target} is down`));
      assert.match(post.body.attachments?.[0]?.text ?? '', new RegExp(`Runner ${target} is down`));
    } finally {
      await prometheus.stop();
      await rig.close();
    }
  });
});
