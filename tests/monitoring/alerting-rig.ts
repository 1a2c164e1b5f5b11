/**
 * What the alerting tests start, for any test that wants an alert delivered end to end:
 * - an inbox: an SMTP server (the smtp-server package, with authentication) and a local HTTP
 *   endpoint standing in for Slack's incoming webhook, both recording what arrives;
 * - Debian's prometheus-alertmanager running deploy/monitoring/alertmanager.yml.tmpl, rendered by
 *   scripts/monitoring-config's renderer for that inbox with one-second group intervals;
 * - Debian's prometheus running the shipped prometheus.yml and alerts.yml, with the test's
 *   targets, one-second intervals and, where asked, shorter `for:` durations.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { renderAlertmanagerConfig } from '../../scripts/lib/monitoring-config.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { type Spawned, spawnService, waitForHttp } from '../harness/processes.ts';

const monitoring = new URL('../../deploy/monitoring/', import.meta.url).pathname;

export interface Mail {
  from: string;
  to: string[];
  raw: string;
}
export interface SlackPost {
  path: string;
  body: { channel?: string; attachments?: { title?: string; text?: string }[] };
}

export interface AlertInbox {
  smtpPort: number;
  smtpUser: string;
  smtpPassword: string;
  /** The Slack stand-in's webhook URL. */
  slackWebhookUrl: string;
  mails: Mail[];
  slackPosts: SlackPost[];
  /** Waits for a notice of `alertname` by e-mail and at the Slack stand-in. */
  delivered(alertname: string, timeoutMs?: number): Promise<{ mail: Mail; post: SlackPost }>;
  stop(): Promise<void>;
}

const listen = (server: Server | SMTPServer, port: number) =>
  new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));

/** Reads a request body, bounded: the stand-in never keeps more than 1 MiB. */
function readBody(req: IncomingMessage): Promise<string> {
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

export async function startAlertInbox(): Promise<AlertInbox> {
  const smtpUser = 'keel-alerts';
  const smtpPassword = 'smtp-password-for-the-test';
  const mails: Mail[] = [];
  const slackPosts: SlackPost[] = [];
  const smtp = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    // Alertmanager sends credentials without TLS only to a loopback server; this is one.
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, callback) {
      if (auth.username === smtpUser && auth.password === smtpPassword) callback(null, { user: smtpUser });
      else callback(new Error('bad credentials'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
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

  const slackStandIn = createServer(async (req, res) => {
    try {
      slackPosts.push({ path: req.url ?? '', body: JSON.parse(await readBody(req)) });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_payload');
    }
  });
  const slackPort = await freePort();
  await listen(slackStandIn, slackPort);

  return {
    smtpPort,
    smtpUser,
    smtpPassword,
    slackWebhookUrl: `http://127.0.0.1:${slackPort}/services/T000/B000/slack-stand-in`,
    mails,
    slackPosts,
    async delivered(alertname, timeoutMs = 30_000) {
      const mail = await waitFor(
        `an e-mail for ${alertname}`,
        async () => mails.find((m) => /^Subject: .*$/m.exec(m.raw)?.[0].includes(alertname)),
        timeoutMs,
      );
      const post = await waitFor(
        `a post to the Slack stand-in for ${alertname}`,
        async () => slackPosts.find((p) => p.body.attachments?.some((a) => a.title?.includes(alertname))),
        timeoutMs,
      );
      return { mail, post };
    },
    async stop() {
      await new Promise<void>((r) => smtp.close(() => r()));
      await new Promise<void>((r) => slackStandIn.close(() => r()));
    },
  };
}

export interface StartedAlertmanager {
  url: string;
  configPath: string;
  stop(): Promise<void>;
}

/** The shipped Alertmanager configuration, rendered for `inbox`, running on a free port. */
export async function startAlertmanager(inbox: AlertInbox): Promise<StartedAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-alertmanager-'));
  const { configPath } = renderAlertmanagerConfig(
    {
      KEEL_ALERT_SMTP_SMARTHOST: `127.0.0.1:${inbox.smtpPort}`,
      KEEL_ALERT_SMTP_FROM: 'keel-alerts@example.com',
      KEEL_ALERT_EMAIL_TO: 'ops@example.com,oncall@example.com',
      KEEL_ALERT_SMTP_USERNAME: inbox.smtpUser,
      KEEL_ALERT_SMTP_PASSWORD: inbox.smtpPassword,
      KEEL_ALERT_SMTP_REQUIRE_TLS: 'false',
      KEEL_ALERT_SLACK_WEBHOOK_URL: inbox.slackWebhookUrl,
      KEEL_ALERT_SLACK_CHANNEL: '#keel-alerts',
      // Short enough for a test; the defaults are 30s, 5m and 4h.
      KEEL_ALERT_GROUP_WAIT: '1s',
      KEEL_ALERT_GROUP_INTERVAL: '1s',
      KEEL_ALERT_REPEAT_INTERVAL: '1h',
    },
    join(dir, 'config'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  mkdirSync(join(dir, 'data'));
  const service: Spawned = spawnService(
    '/usr/bin/prometheus-alertmanager',
    [
      `--config.file=${configPath}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // One Alertmanager, no gossip: an empty address turns clustering off.
      '--cluster.listen-address=',
    ],
    process.env,
  );
  await waitForHttp(`${url}/-/ready`, service, 30_000);
  return {
    url,
    configPath,
    async stop() {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RulesPrometheusOptions {
  alertmanagerUrl: string;
  /** host:port of the edges' and runners' metrics endpoints; an empty list keeps no target. */
  edgeTargets: string[];
  runnerTargets: string[];
  /** The bearer token the endpoints want (written to the shipped `credentials_file`). */
  metricsToken: string;
  /** Replaces every rule's `for:` duration (e.g. `5s`), so a `for: 2m` alert fires in a test. */
  ruleFor?: string;
}

export interface StartedPrometheus {
  url: string;
  stop(): Promise<void>;
}

/** Debian's prometheus with the shipped prometheus.yml and alerts.yml, rewritten for the test. */
export async function startRulesPrometheus(o: RulesPrometheusOptions): Promise<StartedPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-rules-prometheus-'));
  let rules = readFileSync(join(monitoring, 'alerts.yml'), 'utf8');
  if (o.ruleFor) rules = rules.replace(/^(\s+)for: \S+$/gm, `$1for: ${o.ruleFor}`);
  writeFileSync(join(dir, 'alerts.yml'), rules);
  writeFileSync(join(dir, 'keel-metrics-token'), o.metricsToken);
  writeFileSync(join(dir, 'keel-runner-metrics-token'), o.metricsToken);
  let config = readFileSync(join(monitoring, 'prometheus.yml'), 'utf8');
  const rewrite = (from: RegExp, to: string) => {
    assert.match(config, from, `prometheus.yml no longer has ${from}`);
    config = config.replace(from, to);
  };
  const list = (targets: string[]) => `targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`;
  rewrite(/scrape_interval: \S+/, 'scrape_interval: 1s');
  rewrite(/evaluation_interval: \S+/, 'evaluation_interval: 1s');
  rewrite(/targets: \["localhost:9093"\]/, list([new URL(o.alertmanagerUrl).host]));
  rewrite(/(job_name: keel-edge[\s\S]*?)targets: \[[^\]]*\]/, `$1${list(o.edgeTargets)}`);
  rewrite(/(job_name: keel-runner[\s\S]*?)targets: \[[^\]]*\]/, `$1${list(o.runnerTargets)}`);
  writeFileSync(join(dir, 'prometheus.yml'), config);

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = spawnService(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    process.env,
  );
  await waitForHttp(`${url}/-/ready`, service, 30_000);
  return {
    url,
    async stop() {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
