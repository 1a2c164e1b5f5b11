/**
 * The manifest of a backup folder (`manifest.json`): what was saved, from which versions, at
 * which migration level, and the SHA-256 of every part. `scripts/restore` checks every part
 * against it before it touches anything, so a damaged or altered part is refused up front.
 *
 * The hashes find damage (a truncated copy, a flipped bit, a part swapped for another); they
 * are not a signature: whoever may rewrite a part may rewrite the manifest too. Backups belong
 * where only operators write (docs/BACKUPS.md).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const MANIFEST_FILE = 'manifest.json';
export const FORMAT = 'keel-backup/1';

/** A part's name: plain names and one level of folder, never `..` nor an absolute path. */
const PartPath = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/, 'a plain relative name')
  .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'no . or .. segments');

/** One name in a folder (the restore joins it to Redis' folder): never `.`, `..` or a path. */
const PlainName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'a plain file name');

const Part = z.object({
  path: PartPath,
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type Part = z.infer<typeof Part>;

const KeyId = z.string().regex(/^[A-Za-z0-9_-]{12}$/);

export const Migrations = z.object({
  /** Rows in drizzle.__drizzle_migrations. */
  applied: z.number().int().nonnegative(),
  /** The tag (drizzle/migrations/meta/_journal.json) of the last applied one, when this checkout knows it. */
  latest: z.string().max(200).nullable(),
  /** Its `created_at`, which drizzle keys migrations by. */
  latestWhen: z.number().int().nullable(),
});
export type Migrations = z.infer<typeof Migrations>;

export const Manifest = z.object({
  format: z.literal(FORMAT),
  createdAt: z.iso.datetime(),
  keel: z.object({ commit: z.string().max(64).nullable(), node: z.string().max(40) }),
  database: z.object({
    kind: z.enum(['postgres', 'pglite']),
    /** The part holding it: a `pg_dump -Fc` archive, or PGlite's own dump of its folder. */
    part: PartPath,
    serverVersion: z.string().max(200),
    /** pg_dump's version, or the PGlite package's. */
    toolVersion: z.string().max(200),
    migrations: Migrations,
    /**
     * The ids of the KEEL_SECRET_KEYs that sealed the values in it (signing keys, server
     * credentials, audit heads, the snapshot store's secret): a restore needs one of those.
     * Ids only: a key id reveals nothing of its key.
     */
    sealedUnder: z.array(KeyId).max(16),
  }),
  redis: z
    .object({
      version: z.string().max(40),
      /** The parts of Redis' append-only folder (Redis 7), by their names there. */
      appendDirname: PlainName,
      appendFilename: PlainName,
      parts: z.array(PartPath).min(1).max(64),
      /** Redis' users file, as scripts/up keeps it (password hashes only), when there was one. */
      aclPart: PartPath.nullable(),
      keys: z.number().int().nonnegative(),
    })
    .nullable(),
  parts: z.array(Part).min(1).max(80),
});
export type Manifest = z.infer<typeof Manifest>;

const Journal = z.object({
  entries: z.array(z.object({ idx: z.number(), when: z.number(), tag: z.string() })),
});
const JOURNAL = new URL('../../drizzle/migrations/meta/_journal.json', import.meta.url);

/** The migrations this checkout carries, oldest first (drizzle's journal). */
export function knownMigrations(): { when: number; tag: string }[] {
  const journal = Journal.parse(JSON.parse(readFileSync(JOURNAL, 'utf8')));
  return [...journal.entries].sort((a, b) => a.idx - b.idx);
}

export class BackupRefused extends Error {
  override name = 'BackupRefused';
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function describePart(folder: string, path: string): Promise<Part> {
  const full = join(folder, path);
  return { path, bytes: statSync(full).size, sha256: await sha256File(full) };
}

/**
 * Every file under `folder`, by relative path, the manifest excepted. A link or any other
 * kind of file is refused: a restore copies parts, and a link would copy what it points at.
 */
function filesIn(folder: string): string[] {
  const entries = readdirSync(folder, { recursive: true, withFileTypes: true });
  const odd = entries.filter((e) => !e.isDirectory() && !e.isFile());
  if (odd.length > 0) {
    throw new BackupRefused(
      `the backup holds links or special files (${odd.map((e) => e.name).join(', ')}): not as scripts/backup makes it`,
    );
  }
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(folder.length + 1))
    .filter((p) => p !== MANIFEST_FILE)
    .sort();
}

/**
 * Reads the manifest and checks every part: present, its size, its SHA-256, and no file the
 * manifest does not name. Throws BackupRefused saying what is wrong; changes nothing.
 */
export async function readCheckedManifest(folder: string): Promise<Manifest> {
  const file = join(folder, MANIFEST_FILE);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new BackupRefused(`${folder} is not a backup folder (scripts/backup makes one)`);
  }
  if (!existsSync(file))
    throw new BackupRefused(`${folder} has no ${MANIFEST_FILE}: not a Keel backup, or damaged`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new BackupRefused(`${file} is not JSON: the backup is damaged`);
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new BackupRefused(
      `${file} is not a ${FORMAT} manifest (${first?.path.join('.') || 'root'}: ${first?.message}): damaged, or from another version of Keel`,
    );
  }
  const manifest = parsed.data;
  const named = new Set(manifest.parts.map((p) => p.path));
  const needed = [manifest.database.part, ...(manifest.redis?.parts ?? []), manifest.redis?.aclPart].filter(
    (p): p is string => typeof p === 'string',
  );
  for (const p of needed) {
    if (!named.has(p))
      throw new BackupRefused(`the manifest names ${p} but gives no SHA-256 for it: damaged`);
  }
  const present = filesIn(folder);
  const extra = present.filter((p) => !named.has(p));
  if (extra.length > 0) {
    throw new BackupRefused(
      `the backup holds files its manifest does not name (${extra.join(', ')}): altered`,
    );
  }
  const damaged: string[] = [];
  for (const part of manifest.parts) {
    const full = join(folder, part.path);
    if (!existsSync(full)) {
      damaged.push(`${part.path} is missing`);
      continue;
    }
    const size = statSync(full).size;
    if (size !== part.bytes) {
      damaged.push(`${part.path} has ${size} bytes, the manifest says ${part.bytes}`);
      continue;
    }
    if ((await sha256File(full)) !== part.sha256)
      damaged.push(`${part.path}'s SHA-256 differs from the manifest's`);
  }
  if (damaged.length > 0) {
    throw new BackupRefused(`the backup is damaged, nothing was restored: ${damaged.join('; ')}`);
  }
  return manifest;
}
