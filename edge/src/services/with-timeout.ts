/**
 * `p`, or a rejection once `ms` have passed without it settling. The work behind `p` is not
 * stopped: this bounds how long a caller waits (a health check, a rate-limit count), not the work.
 */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
