import type { Labels, RunnerView } from '@keel/contract/runners';
import type { ConnectionTestCode, ServerKind, ServerResources, ServerView } from '@keel/contract/servers';

export const KIND_LABELS: Record<ServerKind, string> = {
  ssh: 'Docker over SSH',
  'docker-tls': 'Docker over TLS',
  kubernetes: 'Kubernetes',
};

export type ServerStatus = ServerView['status'];

export const STATUS_LABELS: Record<ServerStatus, string> = {
  new: 'New',
  ok: 'OK',
  failing: 'Failing',
  host_key_unconfirmed: 'Host key to confirm',
  disabled: 'Disabled',
};

/** Each failure code of a connection test, said as what it means and what to do about it. */
export const TEST_CODE_WORDS: Record<ConnectionTestCode, string> = {
  auth_failed: 'The server refused the credentials: check the user and the key (or certificate).',
  host_key_changed:
    'The host presented another key than the pinned one, so Keel refused to connect. If the host was reinstalled, replace its host key in Edit.',
  host_key_unconfirmed: 'The host’s key is not pinned yet: confirm its fingerprint to trust it.',
  unreachable: 'The runner could not connect to this host and port: check the address, port and firewall.',
  timeout: 'The server did not answer in time.',
  forbidden: 'The credential is not allowed to do what Keel needs.',
  tls_failed: 'The TLS handshake failed: check the CA, the client certificate and its key.',
  docker_unavailable: 'Connected, but no Docker engine that this user may use answered.',
  no_runner: 'No runner this server is assigned to is online.',
  invalid_config:
    'The connection settings are not usable (for example a kubeconfig without a current context).',
  internal: 'Something went wrong on the runner while testing.',
};

export function testOutcome(result: { ok: boolean; code?: ConnectionTestCode | undefined }): string {
  if (result.ok) return 'Passed';
  return result.code ? TEST_CODE_WORDS[result.code] : 'Failed.';
}

/** Megabytes as people read them: "512 MB", "15.6 GB", "2 TB". */
export function formatMb(mb: number): string {
  if (mb < 1024) return `${Math.round(mb)} MB`;
  const gb = mb / 1024;
  if (gb < 1024) return `${gb < 10 ? gb.toFixed(1) : Math.round(gb)} GB`;
  return `${(gb / 1024).toFixed(1)} TB`;
}

export function formatLabels(labels: Labels): string {
  return Object.entries(labels)
    .map(([key, value]) => (value === '' ? key : `${key}=${value}`))
    .join(', ');
}

export function describeAssignment(assignment: ServerView['assignment'], runners: RunnerView[] = []): string {
  if (assignment === null) return 'Not assigned';
  if ('runnerId' in assignment) {
    const runner = runners.find((r) => r.id === assignment.runnerId);
    return `Runner ${runner ? runner.name : assignment.runnerId}`;
  }
  return `Runners labelled ${formatLabels(assignment.runnerLabels)}`;
}

export function describeStorage(storage: ServerView['storage']): string {
  switch (storage.kind) {
    case 'volume':
      return 'Docker volumes';
    case 'hostDir':
      return `Host folder ${storage.path}`;
    case 'pvc':
      return `${storage.sizeGb} GB claims${storage.storageClass ? ` of class ${storage.storageClass}` : ''}`;
  }
}

/** One line of live resources, as the assigned runner last collected them. */
export function describeResources(resources: ServerResources): string {
  const parts = [`${resources.cpus} CPUs`];
  parts.push(
    resources.memoryFreeMb === null
      ? `${formatMb(resources.memoryMb)} memory`
      : `${formatMb(resources.memoryFreeMb)} of ${formatMb(resources.memoryMb)} memory free`,
  );
  if (resources.disk)
    parts.push(`${formatMb(resources.disk.freeMb)} of ${formatMb(resources.disk.totalMb)} disk free`);
  parts.push(`${resources.gpus} GPU${resources.gpus === 1 ? '' : 's'}`);
  parts.push(
    `${resources.workspacesRunning} workspace${resources.workspacesRunning === 1 ? '' : 's'} running`,
  );
  return parts.join(' · ');
}
