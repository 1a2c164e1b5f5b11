/**
 * Rate limits count in fixed windows (see edge/src/services/rate-limit.ts). A test that makes a
 * few requests and expects the last one refused must not straddle a window boundary, where
 * the count starts again: this waits for a fresh window when less than `needSeconds` is left.
 */
export async function withinOneRateWindow(needSeconds: number, windowSeconds = 60): Promise<void> {
  const left = windowSeconds - ((Date.now() / 1000) % windowSeconds);
  if (left < needSeconds) await new Promise((r) => setTimeout(r, left * 1000 + 50));
}
