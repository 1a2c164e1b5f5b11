import { errorMessage } from '../../forms/error-message.ts';
import type { Run } from './run-store.ts';

/** One line on how a run ended or where it is. */
export function describeRun(run: Run): string {
  switch (run.state) {
    case 'starting':
      return 'Starting…';
    case 'running':
      return run.cancelling ? 'Cancelling…' : 'Running…';
    case 'reconnecting':
      return 'Connection lost: reconnecting, no output will be lost…';
    case 'failed':
      return `Could not run: ${errorMessage(run.error)}`;
    case 'exited': {
      const exit = run.exit;
      const took = run.endedAt === undefined ? '' : ` after ${formatDuration(run.endedAt - run.startedAt)}`;
      if (exit === undefined) return 'Finished';
      if (exit.cancelled) return `Cancelled${took}`;
      if (exit.timedOut) return `Stopped: it ran past its time limit${took}`;
      if (exit.error) return `Ended: ${exit.error}`;
      if (exit.signal) return `Killed by ${exit.signal}${took}`;
      return `Exited with status ${exit.exitCode ?? 'unknown'}${took}`;
    }
  }
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** How a run reads at a glance: still going, ended well, or not. */
export function runOutcome(run: Run): 'ok' | 'error' | 'busy' {
  if (run.state === 'starting' || run.state === 'running' || run.state === 'reconnecting') return 'busy';
  return run.state === 'exited' && run.exit?.exitCode === 0 ? 'ok' : 'error';
}
