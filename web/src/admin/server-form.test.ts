import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PEM_KEY, runner, server } from './admin-fixtures.ts';
import { buildTokenRequest, runnerCommand } from './runner-token-form.ts';
import {
  buildChangeRequest,
  buildCreateRequest,
  emptyServerForm,
  fieldForPath,
  parseLabels,
  serverFormFrom,
} from './server-form.ts';
import { describeAssignment, describeResources, TEST_CODE_WORDS } from './server-words.ts';

const sshForm = () => ({
  ...emptyServerForm('ssh'),
  name: 'build-1',
  host: 'build-1.example.net',
  user: 'keel',
  privateKey: PEM_KEY,
});

describe('server form', () => {
  test('an ssh server becomes the contract’s request, with optional parts left out', () => {
    const built = buildCreateRequest({ ...sshForm(), labels: 'zone=eu, gpu', region: 'eu-west' });
    assert.equal(built.ok, true);
    assert.deepEqual(built.ok && built.request, {
      kind: 'ssh',
      name: 'build-1',
      labels: { zone: 'eu', gpu: '' },
      region: 'eu-west',
      capacity: { workspaces: 10 },
      assignment: null,
      host: 'build-1.example.net',
      port: 22,
      user: 'keel',
      privateKey: PEM_KEY,
      storage: { kind: 'volume' },
    });
  });

  test('messages land under their fields before anything is sent', () => {
    const built = buildCreateRequest({
      ...emptyServerForm('ssh'),
      name: '',
      host: 'bad host/x',
      port: '70000',
      user: 'Root',
      privateKey: 'not a key',
      capacityWorkspaces: 'many',
      storageKind: 'hostDir',
      storagePath: '../etc',
    });
    assert.equal(built.ok, false);
    if (built.ok) return;
    assert.deepEqual(Object.keys(built.fields).sort(), [
      'capacityWorkspaces',
      'host',
      'name',
      'port',
      'privateKey',
      'storagePath',
      'user',
    ]);
    assert.equal(built.fields.capacityWorkspaces, 'Enter a number.');
    assert.match(built.fields.privateKey ?? '', /PEM/);
    assert.equal(built.message, 'Check the highlighted fields.');
  });

  test('docker-tls needs its three PEM files; kubernetes a kubeconfig and a size', () => {
    const tls = buildCreateRequest({ ...emptyServerForm('docker-tls'), name: 'tls', host: '10.0.0.5' });
    assert.equal(tls.ok, false);
    assert.deepEqual(!tls.ok && Object.keys(tls.fields).sort(), ['ca', 'cert', 'key']);

    const k8s = buildCreateRequest({
      ...emptyServerForm('kubernetes'),
      name: 'cluster',
      kubeconfig: 'apiVersion: v1',
      storageClass: 'fast-ssd',
      sizeGb: '20',
      assignment: 'labels',
      runnerLabels: 'zone=eu',
    });
    assert.equal(k8s.ok, true);
    assert.deepEqual(k8s.ok && k8s.request.storage, { kind: 'pvc', sizeGb: 20, storageClass: 'fast-ssd' });
    assert.deepEqual(k8s.ok && k8s.request.assignment, { runnerLabels: { zone: 'eu' } });
  });

  test('labels that do not parse are said, not guessed', () => {
    assert.deepEqual(parseLabels('a=1,\n b = two '), { a: '1', b: 'two' });
    assert.match(String(parseLabels('a=1, a=2')), /twice/);
    assert.match(String(parseLabels('=x')), /no name/);
    const built = buildCreateRequest({ ...sshForm(), assignment: 'labels', runnerLabels: '' });
    assert.equal(!built.ok && built.fields.runnerLabels, 'At least one label.');
  });

  test('an edit sends only what changed, and a secret only when given again', () => {
    const current = server({
      assignment: { runnerId: 'rnr_aaaaaaaaaaaaaaaaaaaa' },
      capacity: { workspaces: 10, cpus: 8 },
    });
    const values = serverFormFrom(current);
    assert.equal(values.privateKey, '', 'secrets are never filled in');
    assert.deepEqual(buildChangeRequest(current, values), { ok: true, request: undefined });

    const renamed = buildChangeRequest(current, { ...values, name: 'build-2', capacityWorkspaces: '12' });
    assert.deepEqual(renamed.ok && renamed.request, {
      name: 'build-2',
      capacity: { workspaces: 12, cpus: 8 },
    });

    const rekeyed = buildChangeRequest(current, { ...values, privateKey: PEM_KEY, passphrase: 'pw' });
    assert.deepEqual(rekeyed.ok && rekeyed.request, { privateKey: PEM_KEY, passphrase: 'pw' });

    const moved = buildChangeRequest(current, {
      ...values,
      storageKind: 'hostDir',
      storagePath: '/srv/keel',
      assignment: 'none',
    });
    assert.deepEqual(moved.ok && moved.request, {
      assignment: null,
      storage: { kind: 'hostDir', path: '/srv/keel' },
    });

    const bad = buildChangeRequest(current, { ...values, cert: 'x', port: '0' });
    assert.equal(bad.ok, false);
    assert.deepEqual(!bad.ok && Object.keys(bad.fields), ['port']);
  });

  test('the API’s dotted issue paths find their fields', () => {
    assert.equal(fieldForPath('capacity.workspaces'), 'capacityWorkspaces');
    assert.equal(fieldForPath('storage.path'), 'storagePath');
    assert.equal(fieldForPath('assignment.runnerLabels'), 'runnerLabels');
    assert.equal(fieldForPath('host'), 'host');
    assert.equal(fieldForPath('whatever'), undefined);
  });
});

describe('runner token form', () => {
  test('builds the request and checks it with the contract', () => {
    assert.deepEqual(
      buildTokenRequest({ name: 'gpu-2', labels: 'gpu=a100', expiresInSeconds: '3600', maxUses: '3' }),
      {
        ok: true,
        request: { name: 'gpu-2', labels: { gpu: 'a100' }, expiresInSeconds: 3600, maxUses: 3 },
      },
    );
    const bad = buildTokenRequest({
      name: 'no spaces here',
      labels: '',
      expiresInSeconds: '3600',
      maxUses: '0',
    });
    assert.equal(bad.ok, false);
    assert.deepEqual(!bad.ok && Object.keys(bad.fields).sort(), ['maxUses', 'name']);
  });

  test('the command is the README’s, with this edge’s address and the token', () => {
    assert.equal(
      runnerCommand('https://keel.example.com', 'rgt_x'),
      'KEEL_URL=https://keel.example.com KEEL_RUNNER_TOKEN=rgt_x REDIS_URL=redis://… npx keel-runner',
    );
  });
});

describe('server words', () => {
  test('every failure code is explained', () => {
    for (const words of Object.values(TEST_CODE_WORDS)) assert.ok(words.length > 20);
  });

  test('resources and assignment read as sentences', () => {
    assert.equal(
      describeResources({
        at: '',
        ok: true,
        cpus: 8,
        memoryMb: 16_384,
        memoryFreeMb: 8192,
        disk: { path: '/', totalMb: 102_400, freeMb: 51_200 },
        gpus: 1,
        workspacesRunning: 2,
      }),
      '8 CPUs · 8.0 GB of 16 GB memory free · 50 GB of 100 GB disk free · 1 GPU · 2 workspaces running',
    );
    assert.equal(describeAssignment({ runnerId: 'rnr_aaaaaaaaaaaaaaaaaaaa' }, [runner()]), 'Runner gpu-1');
    assert.equal(describeAssignment({ runnerLabels: { zone: 'eu' } }), 'Runners labelled zone=eu');
  });
});
