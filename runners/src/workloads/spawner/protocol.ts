/*
 * What the runner and its sandbox spawner say to each other over Node's IPC channel (a private
 * socket pair: no other process can reach it). The spawner checks every request with these
 * schemas before it starts anything; the runner checks every reply.
 */
import { z } from 'zod';

/** The runner's numbering of its commands; the spawner only echoes it back. */
const commandId = z.number().int().nonnegative();

/**
 * Start a command: exactly this argv, cwd and environment, in a new session. The runner asks for
 * nothing else: kills go from the runner to the command's process group.
 */
export const spawnRequest = z.strictObject({
  type: z.literal('spawn'),
  id: commandId,
  // Arguments may be empty strings (`sh -c SCRIPT ''`); the program's path may not.
  argv: z
    .array(z.string().max(131_072))
    .min(1)
    .max(4_096)
    .refine((argv) => argv[0] !== '', 'the program is empty'),
  cwd: z.string().startsWith('/'),
  env: z.record(z.string(), z.string()),
  /** A pipe to the command's stdin; without, it reads /dev/null. */
  stdin: z.boolean(),
});
export type SpawnRequest = z.infer<typeof spawnRequest>;

/** One end of a pipe of the command, sent with this message as the IPC handle. */
export const stdioReply = z.strictObject({
  type: z.literal('stdio'),
  id: commandId,
  stream: z.enum(['stdin', 'stdout', 'stderr']),
});

/** The command runs (after its stdio handles): its pid is its process group too. */
export const spawnedReply = z.strictObject({
  type: z.literal('spawned'),
  id: commandId,
  pid: z.number().int().positive(),
});

/** The command could not be started. */
export const failedReply = z.strictObject({
  type: z.literal('failed'),
  id: commandId,
  code: z.string().max(64).optional(),
  message: z.string().max(4_096),
});

/** The command's process ended (its pipes may still be held by what it left behind). */
export const exitReply = z.strictObject({
  type: z.literal('exit'),
  id: commandId,
  exitCode: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
});

export const spawnerReply = z.discriminatedUnion('type', [stdioReply, spawnedReply, failedReply, exitReply]);
export type SpawnerReply = z.infer<typeof spawnerReply>;
