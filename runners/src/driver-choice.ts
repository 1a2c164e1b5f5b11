import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DriverKind } from '@keel/contract/runners';
import { z } from 'zod';
import type { RunnerConfig } from './env.ts';

const SavedDriver = z.object({ driver: DriverKind });
const driverPath = (config: RunnerConfig) => join(config.KEEL_RUNNER_DATA_DIR, 'driver.json');

/**
 * The driver this runner chose when it first started. Its workspaces live in that driver's
 * engine: a restart that picked another one (a Docker engine that appeared under `auto`)
 * would no longer find any of them.
 */
export async function loadDriverChoice(config: RunnerConfig): Promise<DriverKind | undefined> {
  try {
    return SavedDriver.parse(JSON.parse(await readFile(driverPath(config), 'utf8'))).driver;
  } catch {
    return undefined;
  }
}

/** Kept beside the credential, written through a temporary file like it. */
export async function saveDriverChoice(config: RunnerConfig, driver: DriverKind): Promise<void> {
  await mkdir(config.KEEL_RUNNER_DATA_DIR, { recursive: true, mode: 0o711 });
  const tmp = `${driverPath(config)}.tmp`;
  await writeFile(tmp, JSON.stringify({ driver }), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, driverPath(config));
}

/**
 * Which driver to run: an explicit KEEL_RUNNER_DRIVER always wins; under `auto`, the one
 * saved at the first start, else `probe` (Docker when usable, else process).
 */
export async function driverToRun(
  config: RunnerConfig,
  probe: () => Promise<DriverKind>,
): Promise<{ kind: DriverKind; saved: DriverKind | undefined }> {
  const saved = await loadDriverChoice(config);
  if (config.KEEL_RUNNER_DRIVER !== 'auto') return { kind: config.KEEL_RUNNER_DRIVER, saved };
  return { kind: saved ?? (await probe()), saved };
}
