import type { RunnerView } from '@keel/contract/runners';
import type { ConnectionTestResult, ServerView } from '@keel/contract/servers';

/** Test data for the admin stores and forms, in the shapes the API answers with. */
export function server(overrides: Partial<ServerView> = {}): ServerView {
  return {
    id: 'srv_aaaaaaaaaaaaaaaaaaaa',
    name: 'build-1',
    kind: 'ssh',
    labels: { zone: 'eu' },
    region: 'eu-west',
    capacity: { workspaces: 10 },
    storage: { kind: 'volume' },
    assignment: null,
    endpoint: { host: 'build-1.example.net', port: 22, user: 'keel', hostKeyFingerprint: null },
    credential: {
      fingerprint: 'SHA256:credentialfingerprintxxxxxxxxxxxxxxxxxxxxx',
      updatedAt: '2025-01-01T00:00:00.000Z',
    },
    status: 'new',
    lastTest: null,
    resources: null,
    workspaces: 0,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

export const HOST_FINGERPRINT = `SHA256:${'A'.repeat(43)}`;

export function testResult(overrides: Partial<ConnectionTestResult> = {}): ConnectionTestResult {
  return {
    ok: true,
    message: 'ok',
    at: '2025-01-01T00:01:00.000Z',
    durationMs: 420,
    runnerId: 'rnr_aaaaaaaaaaaaaaaaaaaa',
    reachable: true,
    authenticated: true,
    ...overrides,
  };
}

export function runner(overrides: Partial<RunnerView> = {}): RunnerView {
  return {
    id: 'rnr_aaaaaaaaaaaaaaaaaaaa',
    name: 'gpu-1',
    labels: { gpu: 'a100' },
    drivers: ['docker'],
    capacity: { workspaces: 20, cpus: 16, memoryMb: 65_536 },
    status: 'online',
    shared: false,
    stats: {
      v: 1,
      runnerId: 'rnr_aaaaaaaaaaaaaaaaaaaa',
      at: '2025-01-01T00:00:00.000Z',
      version: '0.1.0',
      driver: 'docker',
      cpus: 16,
      load: [0.5, 0.4, 0.3],
      memory: { totalMb: 65_536, freeMb: 32_768 },
      disk: { totalMb: 512_000, freeMb: 256_000 },
      workspacesRunning: 3,
      gpus: [{ index: 0, name: 'A100', memoryTotalMb: 40_960, memoryUsedMb: 1024, utilizationPercent: 12 }],
    },
    createdAt: '2025-01-01T00:00:00.000Z',
    revokedAt: null,
    ...overrides,
  };
}

/** A PEM block the contract's schema takes (its content is not checked by the web app). */
export const PEM_KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
