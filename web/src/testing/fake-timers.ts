import type { Timers } from '../api/browser-timers.ts';

/** Timers that only fire when the test says so, so a scheduled refresh never outlives the test. */
export function createFakeTimers() {
  const pending = new Map<number, { callback: () => void; ms: number }>();
  let nextId = 0;
  const timers: Timers = {
    set(callback, ms) {
      nextId += 1;
      pending.set(nextId, { callback, ms });
      return nextId;
    },
    clear(handle) {
      pending.delete(handle as number);
    },
  };
  return {
    timers,
    delays: () => [...pending.values()].map((timer) => timer.ms),
    fireAll() {
      const due = [...pending.entries()];
      pending.clear();
      for (const [, timer] of due) timer.callback();
    },
  };
}
