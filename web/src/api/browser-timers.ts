import type { Timers } from './client.ts';

/** setTimeout and clearTimeout behind the injectable `Timers` seam that tests replace. */
export const browserTimers: Timers = {
  set: (callback, ms) => globalThis.setTimeout(callback, ms),
  clear: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};
