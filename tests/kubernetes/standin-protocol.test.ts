import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import {
  type KubernetesApiStandin,
  startKubernetesApiStandin,
} from '../harness/kubernetes-api-standin/server.ts';
import { ensureDockerAndImage } from '../runner/docker-helper.ts';

/** The stand-in speaks the real API's shapes: checked here with raw HTTPS and WebSocket calls. */
describe('Kubernetes API stand-in: protocol', () => {
  let standin: KubernetesApiStandin;
  let token: string;

  const call = (method: string, path: string, body?: unknown, auth: string | null = token) =>
    new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
      const req = request(
        `${standin.url}${path}`,
        {
          method,
          ca: standin.ca,
          headers: {
            'Content-Type': 'application/json',
            ...(auth ? { Authorization: `Bearer ${auth}` } : {}),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text || '{}') }));
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });

  const pod = (name: string, over: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'main',
          image: 'keel-workspace:bookworm',
          command: ['sleep', 'infinity'],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
      ...over,
    },
  });

  before(async () => {
    await ensureDockerAndImage();
    standin = await startKubernetesApiStandin({
      instance: `k8s-proto-${process.pid}`,
      users: [
        { name: 'admin' },
        { name: 'reader', rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] },
      ],
    });
    token = standin.token('admin');
    const ns = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'proto', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    };
    assert.equal((await call('POST', '/api/v1/namespaces', ns)).status, 201);
  });

  after(async () => {
    await standin?.stop();
  });

  it('answers errors as Status objects: 401, 404, 409, 403', async () => {
    const bad = await call('GET', '/api/v1/namespaces', undefined, 'wrong');
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.json, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
    const missing = await call('GET', '/api/v1/namespaces/proto/pods/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.reason, 'NotFound');
    assert.equal(missing.json.message, 'pods "nope" not found');
    const again = await call('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'proto' },
    });
    assert.equal(again.status, 409);
    assert.equal(again.json.reason, 'AlreadyExists');
    const forbidden = await call('POST', '/api/v1/namespaces/proto/pods', pod('x'), standin.token('reader'));
    assert.equal(forbidden.status, 403);
    assert.match(
      String(forbidden.json.message),
      /User "reader" cannot create resource "pods" in API group "" in the namespace "proto"/,
    );
  });

  it('validates against the schemas (422, recorded) and enforces the restricted Pod Security profile', async () => {
    const before = standin.refused.length;
    const noContainers = await call('POST', '/api/v1/namespaces/proto/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bad' },
      spec: {},
    });
    assert.equal(noContainers.status, 422);
    assert.equal(noContainers.json.reason, 'Invalid');
    const badName = await call('POST', '/api/v1/namespaces/proto/pods', pod('Not_A_Name'));
    assert.equal(badName.status, 422);
    assert.equal(standin.refused.length, before + 2);
    const root = await call('POST', '/api/v1/namespaces/proto/pods', pod('root', { securityContext: {} }));
    assert.equal(root.status, 403);
    assert.match(String(root.json.message), /violates PodSecurity "restricted:latest"/);
  });

  it('creates, lists by label and deletes a pod that really runs', async () => {
    const created = await call('POST', '/api/v1/namespaces/proto/pods', {
      ...pod('runner'),
      metadata: { name: 'runner', labels: { app: 'x' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const meta = created.json.metadata as Record<string, string>;
    assert.ok(meta.uid && meta.resourceVersion && meta.creationTimestamp);
    let phase = '';
    for (let i = 0; i < 50 && phase !== 'Running'; i++) {
      phase = ((await call('GET', '/api/v1/namespaces/proto/pods/runner')).json.status as { phase: string })
        .phase;
      if (phase !== 'Running') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(phase, 'Running');
    const list = await call('GET', '/api/v1/namespaces/proto/pods?labelSelector=app%3Dx');
    assert.equal(list.json.kind, 'PodList');
    assert.ok((list.json.metadata as { resourceVersion: string }).resourceVersion);
    assert.equal((list.json.items as unknown[]).length, 1);
    const none = await call('GET', '/api/v1/namespaces/proto/pods?labelSelector=app%3Dy');
    assert.equal((none.json.items as unknown[]).length, 0);
  });

  const exec = (query: string, protocols: string[]) =>
    new WebSocket(
      `${standin.url.replace('https', 'wss')}/api/v1/namespaces/proto/pods/runner/exec?${query}`,
      protocols,
      {
        ca: standin.ca,
        headers: { Authorization: `Bearer ${token}` },
      },
    );

  function run(ws: WebSocket, input?: string) {
    return new Promise<{ frames: Map<number, string>; protocol: string }>((resolve, reject) => {
      const frames = new Map<number, string>();
      ws.on('open', () => {
        if (input !== undefined) {
          ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(input)]));
          ws.send(Buffer.from([255, 0]));
        }
      });
      ws.on('message', (d: Buffer) =>
        frames.set(d[0]!, (frames.get(d[0]!) ?? '') + d.subarray(1).toString()),
      );
      ws.on('close', () => resolve({ frames, protocol: ws.protocol }));
      ws.on('error', reject);
    });
  }

  it('execs over v5 (stdin closed by the close frame) and v4, with the status on channel 3', async () => {
    const v5 = await run(
      exec(
        'command=sh&command=-c&command=cat%3Becho%20err%20%3E%262%3Bexit%205&stdin=true&stdout=true&stderr=true',
        ['v5.channel.k8s.io', 'v4.channel.k8s.io'],
      ),
      'piped',
    );
    assert.equal(v5.protocol, 'v5.channel.k8s.io');
    assert.equal(v5.frames.get(1), 'piped');
    assert.equal(v5.frames.get(2), 'err\n');
    const status = JSON.parse(v5.frames.get(3) ?? '{}');
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '5' }]);
    const v4 = await run(exec('command=echo&command=ok&stdout=true', ['v4.channel.k8s.io']));
    assert.equal(v4.protocol, 'v4.channel.k8s.io');
    assert.equal(v4.frames.get(1), 'ok\n');
    assert.deepEqual(JSON.parse(v4.frames.get(3) ?? '{}'), { metadata: {}, status: 'Success' });
  });

  it('refuses an exec it cannot serve with a Status before the upgrade', async () => {
    const refusedWith = (ws: WebSocket) =>
      new Promise<number>((resolve) => {
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => {});
      });
    assert.equal(await refusedWith(exec('command=true&stdout=true', ['channel.k8s.io'])), 400);
    assert.equal(await refusedWith(exec('command=true', ['v5.channel.k8s.io'])), 400);
    const other = new WebSocket(
      `${standin.url.replace('https', 'wss')}/api/v1/namespaces/proto/pods/absent/exec?command=true&stdout=true`,
      ['v5.channel.k8s.io'],
      {
        ca: standin.ca,
        headers: { Authorization: `Bearer ${token}` },
      },
    );
    assert.equal(await refusedWith(other), 404);
  });
});
