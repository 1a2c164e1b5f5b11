import {
  type ConnectionTestCode,
  ConnectionTestCode as ConnectionTestCodeSchema,
  type ConnectionTestResult,
  type ServerAccess,
  type ServerResources,
} from '@keel/contract/servers';
import type { ServerProbeOptions } from './docker-test.ts';

/** The connection tests and resource collectors by kind; tests pass their own. */
export interface ServerProbes {
  test(access: ServerAccess, opts: ServerProbeOptions): Promise<ConnectionTestResult>;
  collect(access: ServerAccess, opts: ServerProbeOptions): Promise<ServerResources>;
}

/** Loaded on first use, like the server drivers (see server-drivers.ts). */
export const remoteServerProbes: ServerProbes = {
  test: async (access, opts) =>
    access.kind === 'kubernetes'
      ? (await import('./kubernetes-test.ts')).testKubernetesServer(access, opts)
      : (await import('./docker-test.ts')).testDockerServer(access, opts),
  collect: async (access, opts) =>
    access.kind === 'kubernetes'
      ? (await import('./kubernetes-test.ts')).collectKubernetesResources(access, opts)
      : (await import('./docker-test.ts')).collectDockerResources(access, opts),
};

/** A connection test or collection ends within this, whatever the server does. */
export const PROBE_TIMEOUT_MS = 15_000;

export class ProbeTimeout extends Error {
  override name = 'ProbeTimeout';
}

/** `work`, or a ProbeTimeout once `ms` passed; the timer never keeps the process alive. */
export async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ProbeTimeout(`${what} took longer than ${Math.round(ms / 1000)} s`)),
      ms,
    );
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The contract's code an error carries (drivers and probes may set `code`), else `internal`. */
export function failureCode(err: unknown): ConnectionTestCode {
  if (err instanceof ProbeTimeout) return 'timeout';
  const parsed = ConnectionTestCodeSchema.safeParse((err as { code?: unknown } | null)?.code);
  return parsed.success ? parsed.data : 'internal';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
