import type { ExecHandle, ExecResult } from '../../runners/src/workloads/types.ts';

export interface Collected extends ExecResult {
  stdout: string;
  stderr: string;
}

/** Runs an exec to the end and collects its output. */
export async function collect(handle: ExecHandle): Promise<Collected> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  handle.stdout.on('data', (c: Buffer) => out.push(c));
  handle.stderr.on('data', (c: Buffer) => err.push(c));
  const res = await handle.done;
  return { ...res, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** Resolves once `text` has appeared on the handle's stdout. */
export function waitForOutput(handle: ExecHandle, text: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${JSON.stringify(text)}`)),
      timeoutMs,
    );
    handle.stdout.on('data', (c: Buffer) => {
      seen += c.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
