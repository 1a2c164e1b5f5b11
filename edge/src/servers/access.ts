import { type ServerAccess, type ServerKind, ServerStorage } from '@keel/contract/servers';
import type { Services } from '../services.ts';
import { endpointSchema, openCredential } from './credential.ts';
import type { ServerRow } from './store.ts';

/**
 * A server's connection with its secret opened, for the runner it is assigned to (the
 * caller checks that, and audits the use). Nothing else ever opens a server's credential.
 */
export async function serverAccess(services: Services, row: ServerRow): Promise<ServerAccess> {
  const kind = row.kind as ServerKind;
  const storage = ServerStorage.parse(row.storage);
  switch (kind) {
    case 'ssh': {
      const e = endpointSchema.ssh.parse(row.endpoint);
      const s = await openCredential(services, row.id, 'ssh', row.credentialSealed);
      if (storage.kind === 'pvc') throw new Error(`server ${row.id} has kubernetes storage`);
      return {
        kind,
        id: row.id,
        host: e.host,
        port: e.port,
        user: e.user,
        privateKey: s.privateKey,
        ...(s.passphrase !== undefined ? { passphrase: s.passphrase } : {}),
        hostKey: e.hostKey,
        storage,
      };
    }
    case 'docker-tls': {
      const e = endpointSchema['docker-tls'].parse(row.endpoint);
      const s = await openCredential(services, row.id, 'docker-tls', row.credentialSealed);
      if (storage.kind === 'pvc') throw new Error(`server ${row.id} has kubernetes storage`);
      return { kind, id: row.id, host: e.host, port: e.port, ca: e.ca, cert: e.cert, key: s.key, storage };
    }
    case 'kubernetes': {
      const e = endpointSchema.kubernetes.parse(row.endpoint);
      const s = await openCredential(services, row.id, 'kubernetes', row.credentialSealed);
      if (storage.kind !== 'pvc') throw new Error(`server ${row.id} has docker storage`);
      return {
        kind,
        id: row.id,
        url: e.url,
        ...(e.ca ? { ca: e.ca } : {}),
        ...(s.token ? { token: s.token } : {}),
        ...(e.cert ? { cert: e.cert } : {}),
        ...(s.key ? { key: s.key } : {}),
        namespacePrefix: e.namespacePrefix,
        storage,
      };
    }
  }
}
