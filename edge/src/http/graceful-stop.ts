/**
 * A Node edge's graceful stop (SIGTERM, e.g. one step of a rolling restart behind a load
 * balancer): from `startDraining` on, /readyz answers 503 so the balancer sends nothing new here;
 * then `closeOpenStreams` ends every open event stream with a reconnect hint, so its client
 * resumes on another edge at once. One state per process: a Node edge process serves one app.
 */

/** Sent last on an event stream the edge closes to stop: "reconnect now, no wait" (WHATWG `retry`). */
export const SSE_RECONNECT_HINT = 'retry: 0\n\n';

const openStreams = new Set<() => void>();
let draining = false;

export function isDraining(): boolean {
  return draining;
}

export function startDraining(): void {
  draining = true;
}

/** Registers how to close one open stream at a stop; returns its removal (the stream ended by itself). */
export function onStop(close: () => void): () => void {
  openStreams.add(close);
  return () => openStreams.delete(close);
}

export function closeOpenStreams(): void {
  for (const close of [...openStreams]) close();
  openStreams.clear();
}
