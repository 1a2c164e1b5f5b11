import {
  DockerStorage,
  KubernetesStorage,
  type ServerKind,
  type UpdateServerRequest,
} from '@keel/contract/servers';
import type { servers } from '@keel/drizzle/schema';
import { ApiError } from '../http/api-error.ts';
import type { Services } from '../services.ts';
import {
  type DockerTlsEndpoint,
  endpointSchema,
  type KubernetesEndpoint,
  kubernetesConnection,
  openCredential,
  type SealedCredential,
  type SshEndpoint,
  sealCredential,
} from './credential.ts';
import type { ServerRow } from './store.ts';

type Changes = Partial<typeof servers.$inferInsert>;

/** Fields that describe one kind's connection; sending them for another kind is a mistake (422). */
const KIND_FIELDS: Record<ServerKind, ReadonlyArray<keyof UpdateServerRequest>> = {
  ssh: ['host', 'port', 'user', 'privateKey', 'passphrase', 'hostKey'],
  'docker-tls': ['host', 'port', 'ca', 'cert', 'key'],
  kubernetes: ['kubeconfig', 'namespacePrefix'],
};
const CONNECTION_FIELDS = new Set(Object.values(KIND_FIELDS).flat());

/**
 * The row changes a PATCH asks for: only what was sent changes. A secret sent replaces the
 * sealed credential (a new fingerprint); a changed connection (where, who, which key) makes
 * the last test no longer say anything about it, so the server is `new` until tested again.
 */
export async function updateChanges(
  services: Services,
  row: ServerRow,
  input: UpdateServerRequest,
): Promise<Changes> {
  const kind = row.kind as ServerKind;
  const foreign = (Object.keys(input) as Array<keyof UpdateServerRequest>).filter(
    (k) => CONNECTION_FIELDS.has(k) && !KIND_FIELDS[kind].includes(k),
  );
  if (foreign.length > 0) {
    throw new ApiError(
      'validation_failed',
      'Request body is invalid',
      foreign.map((k) => ({ path: k, message: `not a field of a ${kind} server` })),
    );
  }
  const now = services.clock.now();
  const changes: Changes = { updatedAt: now };
  if (input.name !== undefined) changes.name = input.name;
  if (input.labels !== undefined) changes.labels = input.labels;
  if (input.region !== undefined) changes.region = input.region;
  if (input.capacity !== undefined) changes.capacity = input.capacity;
  if (input.assignment !== undefined) changes.assignment = input.assignment;
  if (input.disabled !== undefined) changes.disabled = input.disabled;
  if (input.storage !== undefined) {
    const fits = (kind === 'kubernetes' ? KubernetesStorage : DockerStorage).safeParse(input.storage);
    if (!fits.success) {
      throw new ApiError('validation_failed', 'Request body is invalid', [
        {
          path: 'storage',
          message: kind === 'kubernetes' ? 'a kubernetes server stores on a pvc' : 'volume or hostDir',
        },
      ]);
    }
    changes.storage = fits.data;
  }

  let sealed: SealedCredential | undefined;
  let connectionChanged = false;
  if (kind === 'ssh') {
    const endpoint: SshEndpoint = endpointSchema.ssh.parse(row.endpoint);
    const next = { ...endpoint };
    if (input.host !== undefined) next.host = input.host;
    if (input.port !== undefined) next.port = input.port;
    if (input.user !== undefined) next.user = input.user;
    const moved = next.host !== endpoint.host || next.port !== endpoint.port;
    if (input.hostKey !== undefined) next.hostKey = input.hostKey;
    // A key offered by another host, or before the admin chose one, is no longer the one to confirm.
    if (input.hostKey !== undefined || moved) changes.offeredHostKey = null;
    if (input.privateKey !== undefined || input.passphrase !== undefined) {
      const secret = await openCredential(services, row.id, 'ssh', row.credentialSealed);
      const privateKey = input.privateKey ?? secret.privateKey;
      const passphrase = input.passphrase === undefined ? secret.passphrase : (input.passphrase ?? undefined);
      sealed = await sealCredential(services, row.id, {
        privateKey,
        ...(passphrase !== undefined ? { passphrase } : {}),
      });
    }
    connectionChanged = JSON.stringify(next) !== JSON.stringify(endpoint);
    if (connectionChanged) changes.endpoint = next;
  } else if (kind === 'docker-tls') {
    const endpoint: DockerTlsEndpoint = endpointSchema['docker-tls'].parse(row.endpoint);
    const next = {
      ...endpoint,
      ...(input.host !== undefined ? { host: input.host } : {}),
      ...(input.port !== undefined ? { port: input.port } : {}),
      ...(input.ca !== undefined ? { ca: input.ca } : {}),
      ...(input.cert !== undefined ? { cert: input.cert } : {}),
    };
    if (input.key !== undefined) sealed = await sealCredential(services, row.id, { key: input.key });
    connectionChanged = JSON.stringify(next) !== JSON.stringify(endpoint);
    if (connectionChanged) changes.endpoint = next;
  } else {
    const endpoint: KubernetesEndpoint = endpointSchema.kubernetes.parse(row.endpoint);
    let next: KubernetesEndpoint = {
      ...endpoint,
      namespacePrefix: input.namespacePrefix ?? endpoint.namespacePrefix,
    };
    if (input.kubeconfig !== undefined) {
      const connection = kubernetesConnection(input.kubeconfig, next.namespacePrefix);
      next = connection.endpoint;
      sealed = await sealCredential(services, row.id, connection.secret);
    }
    connectionChanged = JSON.stringify(next) !== JSON.stringify(endpoint);
    if (connectionChanged) changes.endpoint = next;
  }
  if (sealed && sealed.credentialFingerprint !== row.credentialFingerprint) {
    Object.assign(changes, sealed, { credentialUpdatedAt: now });
    connectionChanged = true;
  }
  if (connectionChanged) changes.status = 'new';
  return changes;
}
