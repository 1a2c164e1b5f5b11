/**
 * keel_server_certificate_expiry_timestamp_seconds: the edge's metrics listener (as the Node
 * entry starts it) shows, at each scrape, the notAfter of the CA and client certificates stored
 * with Docker TLS and Kubernetes servers, registered through the admin API on real PostgreSQL.
 * The certificates are made by openssl here, short-lived, and their end dates read back by
 * openssl, not by the code under test. Never a certificate's text in the exposition.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { earliestNotAfter } from '../../edge/src/metrics/certificate-expiry.ts';
import { edgeMetrics } from '../../edge/src/metrics/node-metrics.ts';
import type { BrowserClient } from '../harness/browser-client.ts';
import { b64, kubeconfig, pem, type ServerRig, sshKeyPair, startServerRig } from '../servers/server-rig.ts';

const run = promisify(execFile);
const GAUGE = 'keel_server_certificate_expiry_timestamp_seconds';
const TOKEN = 'metrics-token-for-the-certificate-test';

/** A self-signed certificate valid for `days`, and its key, made by openssl in `dir`. */
async function certificate(dir: string, name: string, days: number): Promise<{ cert: string; key: string }> {
  await run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.pem`,
      '-days',
      String(days),
      '-subj',
      `/CN=keel expiry test ${name}`,
    ],
    { cwd: dir },
  );
  return {
    cert: readFileSync(join(dir, `${name}.pem`), 'utf8'),
    key: readFileSync(join(dir, `${name}-key.pem`), 'utf8'),
  };
}

/** notAfter as openssl prints it, in Unix seconds. */
async function opensslNotAfter(dir: string, name: string): Promise<number> {
  const { stdout } = await run('openssl', ['x509', '-enddate', '-noout', '-in', `${name}.pem`], { cwd: dir });
  const at = Date.parse(stdout.trim().replace(/^notAfter=/, ''));
  assert.ok(Number.isFinite(at), stdout);
  return at / 1000;
}

interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The gauge's samples in an exposition text. */
function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${GAUGE}\\{(.*)\\} (\\S+)$`).exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

describe('certificate expiry gauge (edge metrics listener, real PostgreSQL)', () => {
  let rig: ServerRig;
  let admin: BrowserClient;
  let metrics: { url: string; stop(): Promise<void> };
  const dir = mkdtempSync(join(tmpdir(), 'keel-cert-expiry-'));
  const material: Record<string, { cert: string; key: string }> = {};
  const ids: Record<string, string> = {};
  const req = (method: string, path: string, body?: unknown) =>
    admin.request(method, path, body, { bearer: true });

  const scrape = async (): Promise<{ text: string; series: Sample[] }> => {
    const res = await fetch(metrics.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    const text = await res.text();
    return { text, series: samples(text) };
  };

  before(async () => {
    rig = await startServerRig();
    admin = rig.admin;
    // The CA lasts longer than the client certificate: the two are told apart by their dates.
    material.ca = await certificate(dir, 'ca', 30);
    material.client = await certificate(dir, 'client', 3);
    material.renewed = await certificate(dir, 'renewed', 20);
    material.cluster = await certificate(dir, 'cluster', 10);
    const created = async (body: Record<string, unknown>) => {
      const res = await req('POST', '/api/admin/servers', { capacity: { workspaces: 1 }, ...body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.server.id as string;
    };
    ids.tls = await created({
      kind: 'docker-tls',
      name: 'tls-expiring',
      host: '198.51.100.31',
      ca: material.ca.cert,
      cert: material.client.cert,
      key: material.client.key,
    });
    ids.cluster = await created({
      kind: 'kubernetes',
      name: 'cluster-ca',
      kubeconfig: kubeconfig({
        cluster: { 'certificate-authority-data': b64(material.cluster.cert) },
        user: { token: 'kube-token-for-the-expiry-test' },
      }),
      storage: { kind: 'pvc', sizeGb: 1 },
    });
    // A CA field that is PEM-shaped but no certificate: nothing to say, and no failure.
    ids.fake = await created({
      kind: 'kubernetes',
      name: 'cluster-fake-ca',
      kubeconfig: kubeconfig({ user: { token: 'kube-token-for-the-expiry-test' } }),
      storage: { kind: 'pvc', sizeGb: 1 },
    });
    ids.ssh = await created({
      kind: 'ssh',
      name: 'ssh-host',
      host: '198.51.100.32',
      user: 'keel',
      privateKey: sshKeyPair().privateKey,
    });
    const started = await edgeMetrics().start(
      rig.app.services,
      { host: '127.0.0.1', port: 0, token: TOKEN },
      3600,
    );
    metrics = started;
  });
  after(async () => {
    await metrics?.stop();
    await rig?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a Docker TLS server: its CA and client certificates’ notAfter, by organization, server and role', async () => {
    const { series } = await scrape();
    const tls = series.filter((s) => s.labels.server === ids.tls);
    assert.deepEqual(tls.map((s) => s.labels.certificate).sort(), ['ca', 'client']);
    for (const s of tls) {
      assert.deepEqual(Object.keys(s.labels).sort(), [
        'certificate',
        'kind',
        'name',
        'organization',
        'server',
      ]);
      assert.equal(s.labels.organization, rig.orgId);
      assert.equal(s.labels.name, 'tls-expiring');
      assert.equal(s.labels.kind, 'docker-tls');
    }
    const client = tls.find((s) => s.labels.certificate === 'client')!;
    const ca = tls.find((s) => s.labels.certificate === 'ca')!;
    assert.equal(client.value, await opensslNotAfter(dir, 'client'));
    assert.equal(ca.value, await opensslNotAfter(dir, 'ca'));
    // Three days from now, give or take the test's own minutes: what the critical alert looks at.
    const left = client.value - Date.now() / 1000;
    assert.ok(left > 3 * 86400 - 600 && left <= 3 * 86400, `${left} s left`);
  });

  test('a Kubernetes server: the CA from its kubeconfig; none for a token user’s missing client certificate', async () => {
    const { series } = await scrape();
    const cluster = series.filter((s) => s.labels.server === ids.cluster);
    assert.deepEqual(
      cluster.map((s) => [s.labels.kind, s.labels.certificate, s.value]),
      [['kubernetes', 'ca', await opensslNotAfter(dir, 'cluster')]],
    );
    // Not certificates, or no certificates at all: no series.
    assert.equal(series.filter((s) => s.labels.server === ids.fake || s.labels.server === ids.ssh).length, 0);
  });

  test('the exposition holds no certificate or key text', async () => {
    const { text } = await scrape();
    for (const m of Object.values(material))
      for (const line of [...m.cert.split('\n'), ...m.key.split('\n')].filter(
        (l) => l.length > 20 && !l.startsWith('-----'),
      ))
        assert.equal(text.includes(line), false);
    assert.equal(text.includes('BEGIN'), false);
  });

  test('a renewed client certificate shows at the next scrape; a deleted server’s series goes', async () => {
    const patched = await req('PATCH', `/api/admin/servers/${ids.tls}`, {
      cert: material.renewed!.cert,
      key: material.renewed!.key,
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    let { series } = await scrape();
    const client = series.find((s) => s.labels.server === ids.tls && s.labels.certificate === 'client');
    assert.equal(client?.value, await opensslNotAfter(dir, 'renewed'));

    const gone = await req('DELETE', `/api/admin/servers/${ids.cluster}`);
    assert.ok(gone.status < 300, JSON.stringify(gone.body));
    ({ series } = await scrape());
    assert.equal(series.filter((s) => s.labels.server === ids.cluster).length, 0);
    assert.equal(series.filter((s) => s.labels.server === ids.tls).length, 2);
  });

  test('earliestNotAfter takes the earliest certificate of a bundle, and skips what does not parse', async () => {
    const bundle = `${material.ca!.cert}${pem('CERTIFICATE', 'NOT-A-CERT')}${material.client!.cert}`;
    assert.equal(earliestNotAfter(bundle), await opensslNotAfter(dir, 'client'));
    assert.equal(earliestNotAfter(pem('CERTIFICATE', 'NOT-A-CERT')), null);
    assert.equal(earliestNotAfter(''), null);
  });
});
