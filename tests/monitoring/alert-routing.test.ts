/**
 * Alert routing through a real Alertmanager (Debian's prometheus-alertmanager) running the
 * shipped configuration, rendered by scripts/monitoring-config with short group intervals:
 * an alert arrives by e-mail at an SMTP server started here (the smtp-server package, with
 * authentication) and at a local HTTP endpoint standing in for Slack's incoming webhook.
 *
 * Two ways in: an alert posted to Alertmanager's API v2, and a real Prometheus running the
 * shipped alerts.yml and prometheus.yml (targets and intervals rewritten for the test) that
 * scrapes a synthetic metrics endpoint, behind the bearer token, reporting a broken audit chain.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { renderAlertmanagerConfig } from '../../scripts/lib/monitoring-config.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { type Spawned, spawnService, waitForHttp } from '../harness/processes.ts';

const monitoring = new URL('../../deploy/monitoring/', import.meta.url).pathname;
const SMTP_USER = 'keel-alerts';
const SMTP_PASSWORD = 'smtp-password-for-the-test';
const METRICS_TOKEN = 'metrics-token-for-the-test';

interface Mail {
  from: string;
  to: string[];
  raw: string;
}
interface SlackPost {
  path: string;
  body: {
    channel?: string;
    attachments?: { title?: string; text?: string }[];
  };
}

const listen = (server: Server | SMTPServer, port: number) =>
  new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));

/** Reads a request body, bounded: the stand-ins never keep more than 1 MiB. */
function readBody(req: import('node:http').IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1 << 20) req.destroy(new Error('body over 1 MiB'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

describe('alert routing: Alertmanager to e-mail (SMTP server) and the Slack webhook stand-in', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'keel-alert-routing-'));
  const inbox: Mail[] = [];
  const slackPosts: SlackPost[] = [];
  let smtp: SMTPServer;
  let slackStandIn: Server;
  let alertmanager: Spawned;
  let alertmanagerUrl: string;

  before(async () => {
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      // Alertmanager sends credentials without TLS only to a loopback server; this is one.
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, _session, callback) {
        if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD)
          callback(null, { user: SMTP_USER });
        else callback(new Error('bad credentials'));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          inbox.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
    });
    const smtpPort = await freePort();
    await listen(smtp, smtpPort);

    slackStandIn = createServer(async (req, res) => {
      const body = await readBody(req);
      slackPosts.push({ path: req.url ?? '', body: JSON.parse(body) });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    const slackPort = await freePort();
    await listen(slackStandIn, slackPort);

    const rendered = renderAlertmanagerConfig(
      {
        KEEL_ALERT_SMTP_SMARTHOST: `127.0.0.1:${smtpPort}`,
        KEEL_ALERT_SMTP_FROM: 'keel-alerts@example.com',
        KEEL_ALERT_EMAIL_TO: 'ops@example.com,oncall@example.com',
        KEEL_ALERT_SMTP_USERNAME: SMTP_USER,
        KEEL_ALERT_SMTP_PASSWORD: SMTP_PASSWORD,
        KEEL_ALERT_SMTP_REQUIRE_TLS: 'false',
        KEEL_ALERT_SLACK_WEBHOOK_URL: `http://127.0.0.1:${slackPort}/services/T000/B000/slack-stand-in`,
        KEEL_ALERT_SLACK_CHANNEL: '#keel-alerts',
        // Short enough for a test; the defaults are 30s, 5m and 4h.
        KEEL_ALERT_GROUP_WAIT: '1s',
        KEEL_ALERT_GROUP_INTERVAL: '1s',
        KEEL_ALERT_REPEAT_INTERVAL: '1h',
      },
      join(tmp, 'alertmanager'),
    );
    const port = await freePort();
    alertmanagerUrl = `http://127.0.0.1:${port}`;
    mkdirSync(join(tmp, 'alertmanager-data'));
    alertmanager = spawnService(
      '/usr/bin/prometheus-alertmanager',
      [
        `--config.file=${rendered.configPath}`,
        `--storage.path=${join(tmp, 'alertmanager-data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // One Alertmanager, no gossip: an empty address turns clustering off.
        '--cluster.listen-address=',
      ],
      process.env,
    );
    await waitForHttp(`${alertmanagerUrl}/-/ready`, alertmanager, 30_000);
  });

  after(async () => {
    await alertmanager?.stop();
    await new Promise<void>((r) => smtp?.close(() => r()));
    await new Promise<void>((r) => slackStandIn?.close(() => r()));
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Waits for the alert to arrive both ways, and returns what came. */
  async function delivered(alertname: string, what: string) {
    const mail = await waitFor(`${what}: an e-mail for ${alertname}`, async () =>
      inbox.find((m) => /^Subject: .*$/m.exec(m.raw)?.[0].includes(alertname)),
    );
    const post = await waitFor(`${what}: a post to the Slack stand-in for ${alertname}`, async () =>
      slackPosts.find((p) => p.body.attachments?.some((a) => a.title?.includes(alertname))),
    );
    return { mail, post };
  }

  test('an alert posted to the API v2 arrives by e-mail and at the Slack webhook stand-in', async () => {
    const res = await fetch(`${alertmanagerUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          labels: {
            alertname: 'KeelRunnerDown',
            severity: 'critical',
            job: 'keel-runner',
            instance: 'runner-a:9465',
          },
          annotations: {
            summary: 'Runner runner-a:9465 is down',
            description: 'Prometheus has not reached the runner for 2 minutes.',
            runbook: 'docs/OBSERVABILITY.md#runner-down',
          },
          startsAt: new Date().toISOString(),
        },
      ]),
    });
    assert.equal(res.status, 200, await res.text());

    const { mail, post } = await delivered('KeelRunnerDown', 'posted alert');
    assert.equal(mail.from, 'keel-alerts@example.com');
    assert.deepEqual(mail.to.sort(), ['oncall@example.com', 'ops@example.com']);
    assert.match(mail.raw, /^Subject: \[FIRING:1\] KeelRunnerDown/m);
    assert.equal(post.path, '/services/T000/B000/slack-stand-in');
    assert.equal(post.body.channel, '#keel-alerts');
    const attachment = post.body.attachments?.[0];
    assert.match(attachment?.title ?? '', /^\[FIRING\] KeelRunnerDown$/);
    assert.match(
      attachment?.text ?? '',
      /Runner runner-a:9465 is down: Prometheus has not reached the runner/,
    );
  });

  test('Prometheus with the shipped rules and scrape configuration fires on a broken audit chain', async () => {
    // A synthetic edge metrics endpoint: it answers only with the bearer token.
    const scrapes: string[] = [];
    const edge = createServer((req, res) => {
      scrapes.push(req.headers.authorization ?? '');
      if (req.headers.authorization !== `Bearer ${METRICS_TOKEN}`) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(
        [
          '# HELP keel_audit_chain_verified Whether the last scheduled audit chain check passed (1) or found a break (0), by organization.',
          '# TYPE keel_audit_chain_verified gauge',
          'keel_audit_chain_verified{organization="org_tampered"} 0',
          'keel_audit_chain_verified{organization="org_sound"} 1',
          '',
        ].join('\n'),
      );
    });
    const edgePort = await freePort();
    await listen(edge, edgePort);

    // The shipped files, with this test's addresses and one-second intervals.
    const dir = join(tmp, 'prometheus');
    mkdirSync(dir);
    copyFileSync(join(monitoring, 'alerts.yml'), join(dir, 'alerts.yml'));
    writeFileSync(join(dir, 'keel-metrics-token'), METRICS_TOKEN);
    let config = readFileSync(join(monitoring, 'prometheus.yml'), 'utf8');
    const rewrite = (from: string, to: string) => {
      assert.ok(config.includes(from), `prometheus.yml no longer has ${from}`);
      config = config.replace(from, to);
    };
    rewrite('scrape_interval: 15s', 'scrape_interval: 1s');
    rewrite('evaluation_interval: 15s', 'evaluation_interval: 1s');
    rewrite('targets: ["localhost:9093"]', `targets: ["${new URL(alertmanagerUrl).host}"]`);
    rewrite(
      'targets: ["edge-1.internal:9464", "edge-2.internal:9464"]',
      `targets: ["127.0.0.1:${edgePort}"]`,
    );
    writeFileSync(join(dir, 'prometheus.yml'), config);

    const port = await freePort();
    const prometheus = spawnService(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      process.env,
    );
    try {
      await waitForHttp(`http://127.0.0.1:${port}/-/ready`, prometheus, 30_000);
      const { mail, post } = await delivered('KeelAuditChainBroken', 'Prometheus alert');
      assert.match(mail.raw, /org_tampered/);
      assert.equal(mail.raw.includes('org_sound'), false);
      assert.match(
        post.body.attachments?.[0]?.text ?? '',
        /Audit chain of organization org_tampered failed verification/,
      );
      assert.ok(
        scrapes.every((a) => a === `Bearer ${METRICS_TOKEN}`),
        'every scrape carried the token',
      );
    } finally {
      await prometheus.stop();
      await new Promise<void>((r) => edge.close(() => r()));
    }
  });
});
