import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorBody } from '@keel/contract/errors';
import {
  formatProtocol,
  negotiate,
  PROTOCOL,
  PROTOCOL_UNSTATED,
  parseProtocol,
} from '@keel/contract/protocol';
import {
  type DriverKind,
  RegisterRunnerResponse,
  type RunnerCheckInRequest,
  RunnerCheckInResponse,
} from '@keel/contract/runners';
import { z } from 'zod';
import type { RunnerConfig } from './env.ts';
import { CannotRunError } from './exit-codes.ts';

export const VERSION = '0.1.0';

// The protocol is agreed anew at each check-in, never kept.
const SavedCredential = RegisterRunnerResponse.omit({ protocol: true }).extend({ edgeUrl: z.string() });
export type SavedCredential = z.infer<typeof SavedCredential>;

const credentialPath = (config: RunnerConfig) => join(config.KEEL_RUNNER_DATA_DIR, 'credential.json');

/** The credential from an earlier registration with the same edge, if any. */
export async function loadCredential(config: RunnerConfig): Promise<SavedCredential | undefined> {
  try {
    const saved = SavedCredential.parse(JSON.parse(await readFile(credentialPath(config), 'utf8')));
    return saved.edgeUrl === config.KEEL_URL ? saved : undefined;
  } catch {
    return undefined;
  }
}

/** Written 0600 through a temporary file, so a crash never leaves half a credential. */
async function saveCredential(config: RunnerConfig, saved: SavedCredential): Promise<void> {
  // 0711: workspace users must be able to pass through to their folders below; only the
  // credential itself is private.
  await mkdir(config.KEEL_RUNNER_DATA_DIR, { recursive: true, mode: 0o711 });
  const tmp = `${credentialPath(config)}.tmp`;
  await writeFile(tmp, JSON.stringify(saved), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, credentialPath(config));
}

export async function register(
  config: RunnerConfig,
  details: { drivers: string[]; capacity: { workspaces: number; cpus: number; memoryMb: number } },
): Promise<SavedCredential> {
  if (!config.KEEL_RUNNER_TOKEN) {
    throw new CannotRunError(
      'This runner is not registered yet: set KEEL_RUNNER_TOKEN to a registration token from an admin',
    );
  }
  const res = await fetch(new URL('/api/runners/register', config.KEEL_URL), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      token: config.KEEL_RUNNER_TOKEN,
      name: config.KEEL_RUNNER_NAME,
      labels: config.KEEL_RUNNER_LABELS,
      capacity: details.capacity,
      drivers: details.drivers,
      version: VERSION,
      protocol: formatProtocol(PROTOCOL),
    }),
  });
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (res.status !== 201) {
    const message = `Registration refused (${res.status}): ${body.error?.message ?? 'no reason given'}`;
    // A refused token stays refused; an edge that failed may answer next time.
    throw res.status >= 400 && res.status < 500 && res.status !== 429
      ? new CannotRunError(message)
      : new Error(message);
  }
  const { protocol, ...registered } = RegisterRunnerResponse.parse(body);
  assertAgreed(protocol);
  const saved = { ...registered, edgeUrl: config.KEEL_URL };
  await saveCredential(config, saved);
  return saved;
}

/**
 * The edge answers with the protocol it agreed (absent from edges before 1.1: 1.0); one of
 * another major cannot be served by this runner, whichever side is older.
 */
function assertAgreed(agreed: string | undefined): void {
  const result = negotiate(PROTOCOL, agreed ? parseProtocol(agreed) : PROTOCOL_UNSTATED, {
    ours: 'this runner',
    theirs: 'the edge',
  });
  if (!result.ok) throw new CannotRunError(result.message);
}

/**
 * 'revoked' when the edge refuses the credential; 'unknown' when the edge cannot be reached.
 * Each check-in says which drivers the runner runs now, so the admin list never shows the
 * ones it registered with after a change. Throws CannotRunError when the edge speaks another
 * protocol major (an edge upgraded since registration): restarting cannot help.
 */
export async function checkIn(
  config: RunnerConfig,
  saved: SavedCredential,
  drivers: DriverKind[],
): Promise<'ok' | 'revoked' | 'unknown'> {
  let answer: z.infer<typeof RunnerCheckInResponse>;
  try {
    const body: RunnerCheckInRequest = { drivers, protocol: formatProtocol(PROTOCOL) };
    const res = await fetch(new URL('/api/runners/check-in', config.KEEL_URL), {
      method: 'POST',
      headers: { authorization: `Bearer ${saved.credential}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    if (res.status === 401) return 'revoked';
    if (res.status === 409) {
      const refusal = ErrorBody.safeParse(await res.json().catch(() => null));
      if (refusal.success && refusal.data.error.code === 'protocol_mismatch') {
        throw new CannotRunError(`Check-in refused (409): ${refusal.data.error.message}`);
      }
    }
    if (!res.ok) return 'unknown';
    answer = RunnerCheckInResponse.parse(await res.json());
  } catch (err) {
    if (err instanceof CannotRunError) throw err;
    return 'unknown';
  }
  assertAgreed(answer.protocol);
  return 'ok';
}
