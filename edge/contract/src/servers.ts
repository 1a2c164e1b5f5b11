/**
 * Infrastructure servers: Docker hosts reached over SSH or mutual TLS, and Kubernetes API
 * servers, each assigned to a runner in its network. The edge never dials them: connection
 * tests, resource collection and workspaces on a server are jobs of the runner it is assigned
 * to. Credentials are write-only: sealed at rest by the edge, never in an answer, shown as a
 * fingerprint; the assigned runner fetches them over its own authenticated HTTPS call when a
 * job needs them (never through Redis), and each fetch is audited.
 */
import { z } from 'zod';
import { DrainProgress } from './fleet.ts';
import { idSchema } from './ids.ts';
import { Labels, RunnerName } from './runners.ts';

export const ServerKind = z.enum(['ssh', 'docker-tls', 'kubernetes']);
export type ServerKind = z.infer<typeof ServerKind>;

export const ServerName = RunnerName;

/** A DNS name or an IP address literal; nothing that could carry a path, user or port. */
export const HostName = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(
    /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$/,
    'a host name or an IP address',
  );
export const Port = z.number().int().min(1).max(65_535);
const Pem = (what: string) =>
  z
    .string()
    .max(64 * 1024)
    .regex(/-----BEGIN [A-Z0-9 ]+-----[\s\S]+-----END [A-Z0-9 ]+-----/, `${what} in PEM form`);
/** One OpenSSH public key line: `ssh-ed25519 AAAA…` (a comment after it is allowed). */
export const SshPublicKey = z
  .string()
  .trim()
  .max(16 * 1024)
  .regex(
    /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( .*)?$/,
    'an OpenSSH public key line',
  );
/** `SHA256:` and the unpadded base64 of the key's SHA-256, as `ssh-keygen -l` prints it. */
export const SshFingerprint = z
  .string()
  .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'SHA256:… as ssh-keygen -l prints it');

/** A Docker host's folder under which each workspace gets `<path>/<workspace id>`, or named volumes. */
export const DockerStorage = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('volume') }),
  z.strictObject({
    kind: z.literal('hostDir'),
    path: z
      .string()
      .max(1024)
      .regex(/^\/(?:[A-Za-z0-9._-]+\/?)*$/, 'an absolute path of plain names')
      .refine((p) => !p.split('/').includes('..') && p !== '/', 'not / and no ..'),
  }),
]);
/** A claim per workspace from this storage class (the cluster's default when absent), this size. */
export const KubernetesStorage = z.strictObject({
  kind: z.literal('pvc'),
  storageClass: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/)
    .optional(),
  sizeGb: z.number().int().min(1).max(16_384),
});
export const ServerStorage = z.union([DockerStorage, KubernetesStorage]);
export type ServerStorage = z.infer<typeof ServerStorage>;

export const ServerCapacity = z.strictObject({
  workspaces: z.number().int().min(1).max(100_000),
  cpus: z.number().positive().max(1_000_000).optional(),
  memoryMb: z.number().int().min(64).optional(),
});
export type ServerCapacity = z.infer<typeof ServerCapacity>;

/** Which runner serves the server: one by id, or any online runner carrying every label given. */
export const ServerAssignment = z.union([
  z.strictObject({ runnerId: idSchema('runner') }),
  z.strictObject({ runnerLabels: Labels.refine((l) => Object.keys(l).length > 0, 'at least one label') }),
]);
export type ServerAssignment = z.infer<typeof ServerAssignment>;

const Region = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and -')
  .nullable();
/** A namespace per organization is `<prefix>-<organization id>`; the prefix is the admin's. */
const NamespacePrefix = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/, 'a DNS label of up to 32 characters');

const common = {
  name: ServerName,
  labels: Labels.default({}),
  region: Region.default(null),
  capacity: ServerCapacity,
  assignment: ServerAssignment.nullable().default(null),
};

/** Secrets are plain text only in the request that sets them; the edge seals them at once. */
export const CreateServerRequest = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('ssh'),
    ...common,
    host: HostName,
    port: Port.default(22),
    user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a POSIX user name'),
    privateKey: Pem('a private key'),
    passphrase: z.string().max(1024).optional(),
    /** The host's public key, pinned. Absent: fetched at the first test, pinned when an admin confirms it. */
    hostKey: SshPublicKey.optional(),
    storage: DockerStorage.default({ kind: 'volume' }),
  }),
  z.strictObject({
    kind: z.literal('docker-tls'),
    ...common,
    host: HostName,
    port: Port.default(2376),
    ca: Pem('the CA certificate'),
    cert: Pem('the client certificate'),
    key: Pem('the client key'),
    storage: DockerStorage.default({ kind: 'volume' }),
  }),
  z.strictObject({
    kind: z.literal('kubernetes'),
    ...common,
    /** A kubeconfig (YAML or JSON); its current context's cluster and user are used. */
    kubeconfig: z
      .string()
      .min(1)
      .max(256 * 1024),
    namespacePrefix: NamespacePrefix.default('keel'),
    storage: KubernetesStorage,
  }),
]);
export type CreateServerRequest = z.infer<typeof CreateServerRequest>;

/** Every field may change; a secret sent again replaces the sealed one (and is never sent back). */
export const UpdateServerRequest = z
  .strictObject({
    name: ServerName,
    labels: Labels,
    region: Region,
    capacity: ServerCapacity,
    assignment: ServerAssignment.nullable(),
    storage: ServerStorage,
    host: HostName,
    port: Port,
    user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/),
    privateKey: Pem('a private key'),
    passphrase: z.string().max(1024).nullable(),
    /** Replaces the pinned host key (null: unpin, so the next test offers the host's key again). */
    hostKey: SshPublicKey.nullable(),
    ca: Pem('the CA certificate'),
    cert: Pem('the client certificate'),
    key: Pem('the client key'),
    kubeconfig: z
      .string()
      .min(1)
      .max(256 * 1024),
    namespacePrefix: NamespacePrefix,
    /** Shut to new workspaces; those on it keep running. */
    disabled: z.boolean(),
  })
  .partial()
  .refine((o) => Object.keys(o).length > 0, 'nothing to change');
export type UpdateServerRequest = z.infer<typeof UpdateServerRequest>;

/** Why a connection test failed; every failure has one, never a hang. */
export const ConnectionTestCode = z.enum([
  'auth_failed',
  'host_key_changed',
  /** No key pinned yet: the result offers the host's key for an admin to confirm. */
  'host_key_unconfirmed',
  'unreachable',
  'timeout',
  'forbidden',
  'tls_failed',
  /** Reached and authenticated, but no Docker engine (or not usable by that user). */
  'docker_unavailable',
  /** No runner the server is assigned to is online. */
  'no_runner',
  'invalid_config',
  'internal',
]);
export type ConnectionTestCode = z.infer<typeof ConnectionTestCode>;

export const HostKeyReport = z.object({
  /** The key the host presented at this test. */
  fingerprint: SshFingerprint,
  algorithm: z.string(),
  /** The presented key as an OpenSSH line, for an admin to confirm. */
  publicKey: z.string(),
  pinned: z.boolean(),
  /** A key was pinned and the host presented another one: refused. */
  changed: z.boolean(),
});

export const DiskReport = z.object({ path: z.string(), totalMb: z.number(), freeMb: z.number() });

export const KubernetesNode = z.object({
  name: z.string(),
  ready: z.boolean(),
  capacity: z.object({ cpus: z.number(), memoryMb: z.number(), gpus: z.number() }),
  allocatable: z.object({ cpus: z.number(), memoryMb: z.number(), gpus: z.number() }),
});

export const ConnectionTestResult = z.object({
  ok: z.boolean(),
  code: ConnectionTestCode.optional(),
  message: z.string(),
  at: z.string(),
  durationMs: z.number(),
  runnerId: z.string().nullable(),
  reachable: z.boolean(),
  authenticated: z.boolean(),
  hostKey: HostKeyReport.optional(),
  system: z
    .object({
      os: z.string(),
      kernel: z.string(),
      cpus: z.number(),
      memoryMb: z.number(),
      disk: DiskReport.nullable(),
    })
    .optional(),
  docker: z
    .object({ version: z.string(), apiVersion: z.string(), image: z.string(), imagePresent: z.boolean() })
    .optional(),
  kubernetes: z
    .object({
      version: z.string(),
      nodes: z.array(KubernetesNode),
      pods: z.number().int(),
      /** What the credential may do in the organization namespaces (SelfSubjectAccessReview). */
      can: z.object({
        createPods: z.boolean(),
        createPersistentVolumeClaims: z.boolean(),
        createNetworkPolicies: z.boolean(),
        createNamespaces: z.boolean(),
      }),
    })
    .optional(),
});
export type ConnectionTestResult = z.infer<typeof ConnectionTestResult>;

/** What the assigned runner collects every minute and reports with its heartbeat. */
export const ServerResources = z.object({
  at: z.string(),
  ok: z.boolean(),
  code: ConnectionTestCode.optional(),
  cpus: z.number(),
  memoryMb: z.number(),
  memoryFreeMb: z.number().nullable(),
  disk: DiskReport.nullable(),
  gpus: z.number().int(),
  workspacesRunning: z.number().int(),
});
export type ServerResources = z.infer<typeof ServerResources>;

export const ServerStatus = z.enum([
  /** Never tested. */
  'new',
  'ok',
  'failing',
  /** Tested, and the host key waits for an admin to confirm it. */
  'host_key_unconfirmed',
  'disabled',
]);

export const ServerView = z.object({
  id: idSchema('server'),
  name: z.string(),
  kind: ServerKind,
  labels: Labels,
  region: z.string().nullable(),
  capacity: ServerCapacity,
  storage: ServerStorage,
  assignment: ServerAssignment.nullable(),
  /** Where it is reached, without secrets: host and port, user, API server URL, namespace prefix. */
  endpoint: z.object({
    host: z.string().optional(),
    port: z.number().optional(),
    user: z.string().optional(),
    url: z.string().optional(),
    namespacePrefix: z.string().optional(),
    /** The pinned SSH host key's fingerprint. */
    hostKeyFingerprint: SshFingerprint.nullable().optional(),
  }),
  /** Fingerprint of the sealed credential (SHA-256 of it, or of its public half); never the secret. */
  credential: z.object({ fingerprint: z.string(), updatedAt: z.string() }),
  status: ServerStatus,
  lastTest: ConnectionTestResult.nullable(),
  resources: ServerResources.nullable(),
  /** Workspaces placed on it that are not deleted. */
  workspaces: z.number().int(),
  /** Set while draining or with workspaces left from a drain; absent from older edges. */
  drain: DrainProgress.optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ServerView = z.infer<typeof ServerView>;

export const ListServersResponse = z.object({ servers: z.array(ServerView) });
/** What any member sees of the servers a workspace may be placed on (enabled, passed their last test). */
export const PlaceableServer = z.object({
  id: idSchema('server'),
  name: z.string(),
  kind: ServerKind,
  region: z.string().nullable(),
  labels: Labels,
});
export const ListPlaceableServersResponse = z.object({ servers: z.array(PlaceableServer) });
export const ServerResponse = z.object({ server: ServerView });
export const TestServerResponse = z.object({ server: ServerView, result: ConnectionTestResult });
/** Pins the key the last test offered; the fingerprint must be the one the admin saw. */
export const ConfirmHostKeyRequest = z.strictObject({ fingerprint: SshFingerprint });

/**
 * What the assigned runner receives for one job: the connection with its secrets opened. Sent
 * only over the runner's own HTTPS call, never through Redis, never written to its disk.
 */
export const ServerAccess = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('ssh'),
    id: idSchema('server'),
    host: z.string(),
    port: z.number(),
    user: z.string(),
    privateKey: z.string(),
    passphrase: z.string().optional(),
    /** null: none pinned, the test only reports what the host offers. */
    hostKey: z.string().nullable(),
    storage: DockerStorage,
  }),
  z.object({
    kind: z.literal('docker-tls'),
    id: idSchema('server'),
    host: z.string(),
    port: z.number(),
    ca: z.string(),
    cert: z.string(),
    key: z.string(),
    storage: DockerStorage,
  }),
  z.object({
    kind: z.literal('kubernetes'),
    id: idSchema('server'),
    /** The API server's URL and the CA that signs its certificate (absent: the system's CAs). */
    url: z.string(),
    ca: z.string().optional(),
    /** A bearer token, or a client certificate and key. */
    token: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    namespacePrefix: z.string(),
    storage: KubernetesStorage,
  }),
]);
export type ServerAccess = z.infer<typeof ServerAccess>;

/** Why the runner asks for a server's access; recorded in the audit trail with each use. */
export const ServerAccessPurpose = z.enum(['test', 'resources', 'workspace']);
export const ServerAccessQuery = z.strictObject({ purpose: ServerAccessPurpose });

/** The servers assigned to a runner, so it knows what to collect resources from. */
export const AssignedServersResponse = z.object({
  servers: z.array(z.object({ id: idSchema('server'), kind: ServerKind, updatedAt: z.string() })),
});
