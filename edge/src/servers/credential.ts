import type { CreateServerRequest, ServerKind } from '@keel/contract/servers';
import { z } from 'zod';
import type { Services } from '../services.ts';
import { credentialFingerprint } from './host-key.ts';
import { parseKubeconfig } from './kubeconfig.ts';

/*
 * A server's connection, split in two: what may be shown (the endpoint, stored as it is) and
 * what may not (the secret, sealed as one JSON document). Both are read back through these
 * schemas, so a row changed behind the edge's back is an error, not a surprise.
 */

export const SshEndpoint = z.object({
  host: z.string(),
  port: z.number(),
  user: z.string(),
  /** The pinned host key line; null until an admin gives or confirms one. */
  hostKey: z.string().nullable(),
});
export const DockerTlsEndpoint = z.object({
  host: z.string(),
  port: z.number(),
  ca: z.string(),
  cert: z.string(),
});
export const KubernetesEndpoint = z.object({
  url: z.string(),
  ca: z.string().optional(),
  cert: z.string().optional(),
  namespacePrefix: z.string(),
});
export type SshEndpoint = z.infer<typeof SshEndpoint>;
export type DockerTlsEndpoint = z.infer<typeof DockerTlsEndpoint>;
export type KubernetesEndpoint = z.infer<typeof KubernetesEndpoint>;

export const SshSecret = z.object({ privateKey: z.string(), passphrase: z.string().optional() });
export const DockerTlsSecret = z.object({ key: z.string() });
export const KubernetesSecret = z.object({ token: z.string().optional(), key: z.string().optional() });
export type SshSecret = z.infer<typeof SshSecret>;
export type DockerTlsSecret = z.infer<typeof DockerTlsSecret>;
export type KubernetesSecret = z.infer<typeof KubernetesSecret>;

export type Endpoint = SshEndpoint | DockerTlsEndpoint | KubernetesEndpoint;
export type Secret = SshSecret | DockerTlsSecret | KubernetesSecret;

export const endpointSchema = {
  ssh: SshEndpoint,
  'docker-tls': DockerTlsEndpoint,
  kubernetes: KubernetesEndpoint,
} as const satisfies Record<ServerKind, z.ZodType>;
export const secretSchema = {
  ssh: SshSecret,
  'docker-tls': DockerTlsSecret,
  kubernetes: KubernetesSecret,
} as const satisfies Record<ServerKind, z.ZodType>;

/** The SecretBox purpose of a server's credential: a sealed value only opens under its own id. */
export function credentialPurpose(serverId: string): string {
  return `server-credential:${serverId}`;
}

/** The endpoint and secret a create request describes (a kubeconfig is read here: 422 if unusable). */
export function connectionOf(input: CreateServerRequest): { endpoint: Endpoint; secret: Secret } {
  switch (input.kind) {
    case 'ssh':
      return {
        endpoint: { host: input.host, port: input.port, user: input.user, hostKey: input.hostKey ?? null },
        secret: {
          privateKey: input.privateKey,
          ...(input.passphrase !== undefined ? { passphrase: input.passphrase } : {}),
        },
      };
    case 'docker-tls':
      return {
        endpoint: { host: input.host, port: input.port, ca: input.ca, cert: input.cert },
        secret: { key: input.key },
      };
    case 'kubernetes':
      return kubernetesConnection(input.kubeconfig, input.namespacePrefix);
  }
}

export function kubernetesConnection(
  kubeconfig: string,
  namespacePrefix: string,
): { endpoint: KubernetesEndpoint; secret: KubernetesSecret } {
  const k = parseKubeconfig(kubeconfig);
  return {
    endpoint: {
      url: k.url,
      ...(k.ca ? { ca: k.ca } : {}),
      ...(k.cert ? { cert: k.cert } : {}),
      namespacePrefix,
    },
    secret: { ...(k.token ? { token: k.token } : {}), ...(k.key ? { key: k.key } : {}) },
  };
}

export interface SealedCredential {
  credentialSealed: string;
  credentialFingerprint: string;
}

/** Seals the secret as one JSON document under the server's own purpose, with its fingerprint. */
export async function sealCredential(
  services: Pick<Services, 'box'>,
  serverId: string,
  secret: Secret,
): Promise<SealedCredential> {
  const plaintext = JSON.stringify(secret);
  return {
    credentialSealed: await services.box.seal(plaintext, credentialPurpose(serverId)),
    credentialFingerprint: credentialFingerprint(plaintext),
  };
}

/** Opens a server's sealed secret; only the runner access route and credential updates need it. */
export async function openCredential<K extends ServerKind>(
  services: Pick<Services, 'box'>,
  serverId: string,
  kind: K,
  sealed: string,
): Promise<z.infer<(typeof secretSchema)[K]>> {
  const plaintext = await services.box.open(sealed, credentialPurpose(serverId));
  return secretSchema[kind].parse(JSON.parse(plaintext)) as z.infer<(typeof secretSchema)[K]>;
}
