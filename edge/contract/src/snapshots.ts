/**
 * Snapshots of a workspace's `/workspace`, kept in object storage: any S3-compatible store, or
 * a folder the runners can all read and write (the embedded default). Content-addressed: the
 * files' bytes, one after another in the manifest's order, are cut into chunks at boundaries
 * chosen by their content (a rolling hash, so small files share chunks and a changed file
 * changes only the chunks around it), each chunk stored once under its SHA-256, and a snapshot
 * is a manifest naming them; a second snapshot of a mostly unchanged workspace writes only the
 * chunks it lacks. Only runners touch the store (the edge never dials it); the edge keeps the
 * list of snapshots and who may see them, and hands a runner the store's access over the
 * runner's own HTTPS call (audited), never through Redis.
 */
import { z } from 'zod';
import { idSchema } from './ids.ts';

/** Version 1 manifests (still restorable) cut each file on its own in pieces of this size. */
export const SNAPSHOT_CHUNK_BYTES = 4 * 1024 * 1024;
/** Store layout, relative to the store's root (bucket + prefix, or the folder). */
export const snapshotStoreKeys = {
  chunk: (sha256: string) => `chunks/${sha256.slice(0, 2)}/${sha256}`,
  manifest: (snapshotId: string) => `manifests/${snapshotId}.json`,
};

export const SnapshotReason = z.enum(['manual', 'stop', 'schedule', 'drain', 'move']);
export type SnapshotReason = z.infer<typeof SnapshotReason>;
export const SnapshotStatus = z.enum(['pending', 'ready', 'failed']);
export type SnapshotStatus = z.infer<typeof SnapshotStatus>;

export const SnapshotView = z.object({
  id: idSchema('snapshot'),
  workspaceId: idSchema('workspace'),
  reason: SnapshotReason,
  status: SnapshotStatus,
  /** Why it failed; null otherwise. */
  error: z.string().nullable(),
  files: z.number().int().nullable(),
  /** The workspace's bytes the snapshot holds, and what this snapshot newly wrote to the store. */
  bytes: z.number().int().nullable(),
  bytesWritten: z.number().int().nullable(),
  /** Kept past retention until an admin or its owner deletes it. */
  pinned: z.boolean(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  /** When the files were read (null until ready). */
  takenAt: z.string().nullable(),
});
export type SnapshotView = z.infer<typeof SnapshotView>;

export const SnapshotParams = z.object({ id: idSchema('workspace'), snapshotId: idSchema('snapshot') });
export const CreateSnapshotRequest = z.strictObject({ pinned: z.boolean().default(false) });
export const SnapshotListResponse = z.object({ snapshots: z.array(SnapshotView) });
export const SnapshotAccepted = z.object({ snapshot: SnapshotView });
/** Restore into the same workspace: its files are replaced (stopped first, started again if it ran). */
export const RestoreAccepted = z.object({
  id: idSchema('workspace'),
  status: z.string(),
  snapshotId: idSchema('snapshot'),
});

const chunkHash = z.string().regex(/^[0-9a-f]{64}$/);
const DirectoryEntry = z.object({
  type: z.literal('directory'),
  path: z.string(),
  mode: z.number().int(),
  mtimeMs: z.number(),
});
const SymlinkEntry = z.object({ type: z.literal('symlink'), path: z.string(), target: z.string() });

/**
 * One entry of a manifest. Paths are relative to `/workspace`, `/`-separated, checked on
 * restore. A file's bytes are the next `size` bytes of the snapshot's chunks, files taken in
 * the order the manifest lists them.
 */
export const ManifestEntry = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('file'),
    path: z.string(),
    mode: z.number().int(),
    size: z.number().int(),
    mtimeMs: z.number(),
  }),
  DirectoryEntry,
  SymlinkEntry,
]);
export type ManifestEntry = z.infer<typeof ManifestEntry>;
/** One chunk of the files' bytes: its SHA-256 and its length. */
export const ManifestChunk = z.object({ hash: chunkHash, size: z.number().int() });
export type ManifestChunk = z.infer<typeof ManifestChunk>;
/** The manifest versions a runner reads; one past them is refused by name, never guessed at. */
export const SNAPSHOT_MANIFEST_VERSIONS = [1, 2] as const;
export const SnapshotManifest = z.object({
  v: z.literal(2),
  snapshotId: idSchema('snapshot'),
  workspaceId: idSchema('workspace'),
  takenAt: z.string(),
  /** Every file's bytes, in the entries' order, cut where their content says. */
  chunks: z.array(ManifestChunk),
  entries: z.array(ManifestEntry),
});
export type SnapshotManifest = z.infer<typeof SnapshotManifest>;

/** Version 1 (before content-defined chunks): each file cut on its own every `chunkBytes`. */
export const ManifestEntryV1 = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('file'),
    path: z.string(),
    mode: z.number().int(),
    size: z.number().int(),
    mtimeMs: z.number(),
    /** Chunk hashes in order; an empty file has none. */
    chunks: z.array(chunkHash),
  }),
  DirectoryEntry,
  SymlinkEntry,
]);
export type ManifestEntryV1 = z.infer<typeof ManifestEntryV1>;
export const SnapshotManifestV1 = z.object({
  v: z.literal(1),
  snapshotId: idSchema('snapshot'),
  workspaceId: idSchema('workspace'),
  takenAt: z.string(),
  chunkBytes: z.number().int(),
  entries: z.array(ManifestEntryV1),
});
export type SnapshotManifestV1 = z.infer<typeof SnapshotManifestV1>;
/** Any manifest a runner restores (and the prune reads for the chunks it names). */
export const AnySnapshotManifest = z.discriminatedUnion('v', [SnapshotManifestV1, SnapshotManifest]);
export type AnySnapshotManifest = z.infer<typeof AnySnapshotManifest>;

/** Where snapshots go. `folder` with no path: the runner's `KEEL_SNAPSHOT_DIR`. */
export const SnapshotStoreSettings = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('folder'),
    path: z
      .string()
      .max(1024)
      .regex(/^\/(?:[A-Za-z0-9._-]+\/?)*$/, 'an absolute path of plain names')
      .refine((p) => !p.split('/').includes('..') && p !== '/', 'not / and no ..')
      .nullable()
      .default(null),
  }),
  z.strictObject({
    kind: z.literal('s3'),
    endpoint: z
      .string()
      .url()
      .max(512)
      .refine((u) => /^https?:\/\//.test(u), 'an http(s) URL'),
    region: z.string().min(1).max(64).default('us-east-1'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name'),
    prefix: z
      .string()
      .max(256)
      .regex(/^(?:[A-Za-z0-9._-]+\/)*$/, 'empty, or names each followed by /')
      .default(''),
    /** Path-style URLs (`endpoint/bucket/key`), as most self-hosted stores want. */
    forcePathStyle: z.boolean().default(true),
    accessKeyId: z.string().min(1).max(256),
  }),
]);
export type SnapshotStoreSettings = z.infer<typeof SnapshotStoreSettings>;

/** `PUT /api/install/snapshot-store`: an s3 store needs its secret when first set, never returned after. */
export const UpdateSnapshotStoreRequest = z.strictObject({
  store: SnapshotStoreSettings,
  secretAccessKey: z.string().min(1).max(512).optional(),
  /** 0: no scheduled snapshots. */
  intervalMinutes: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 60)
    .optional(),
  /** Unpinned ready snapshots kept per workspace; older ones are deleted. */
  retention: z.number().int().min(1).max(1000).optional(),
  onStop: z.boolean().optional(),
});
export const SnapshotStoreResponse = z.object({
  store: SnapshotStoreSettings,
  /** Whether a secret is set (s3), and its fingerprint; the secret itself never. */
  secretFingerprint: z.string().nullable(),
  intervalMinutes: z.number().int(),
  retention: z.number().int(),
  onStop: z.boolean(),
  updatedAt: z.string().nullable(),
});
export const DEFAULT_SNAPSHOT_INTERVAL_MINUTES = 60;
export const DEFAULT_SNAPSHOT_RETENTION = 5;

/** What a runner gets from `GET /api/runners/snapshot-store` (audited when it holds a secret). */
export const SnapshotStoreAccess = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('folder'), path: z.string().nullable() }),
  z.object({
    kind: z.literal('s3'),
    endpoint: z.string(),
    region: z.string(),
    bucket: z.string(),
    prefix: z.string(),
    forcePathStyle: z.boolean(),
    accessKeyId: z.string(),
    secretAccessKey: z.string(),
  }),
]);
export type SnapshotStoreAccess = z.infer<typeof SnapshotStoreAccess>;
export const SnapshotStoreAccessResponse = z.object({
  access: SnapshotStoreAccess,
  /** Whether a stop (the runner's idle stop too) saves a snapshot first. */
  onStop: z.boolean(),
});

/**
 * `POST /api/runners/snapshots`: a runner starts a snapshot the edge did not ask for (idle stop).
 * Fenced: the runner must hold the workspace at this generation.
 */
export const RunnerBeginSnapshotRequest = z.strictObject({
  workspaceId: idSchema('workspace'),
  generation: z.number().int().min(1),
  reason: SnapshotReason,
});
export const RunnerBeginSnapshotResponse = z.object({ snapshotId: idSchema('snapshot') });
/** `POST /api/runners/snapshots/:snapshotId/complete`: the manifest is written (ok) or it failed. */
export const RunnerCompleteSnapshotRequest = z.discriminatedUnion('ok', [
  z.strictObject({
    ok: z.literal(true),
    workspaceId: idSchema('workspace'),
    generation: z.number().int().min(1),
    files: z.number().int().min(0),
    bytes: z.number().int().min(0),
    bytesWritten: z.number().int().min(0),
    takenAt: z.string().datetime(),
  }),
  z.strictObject({
    ok: z.literal(false),
    workspaceId: idSchema('workspace'),
    generation: z.number().int().min(1),
    error: z.string().max(1000),
  }),
]);
export type RunnerCompleteSnapshotRequest = z.infer<typeof RunnerCompleteSnapshotRequest>;
export const RunnerCompleteSnapshotResponse = z.object({ recorded: z.boolean() });

/** What a snapshot or restore job answers. */
export const SnapshotJobResult = z.object({
  snapshotId: idSchema('snapshot'),
  files: z.number().int(),
  bytes: z.number().int(),
  bytesWritten: z.number().int(),
  takenAt: z.string(),
});
export type SnapshotJobResult = z.infer<typeof SnapshotJobResult>;
