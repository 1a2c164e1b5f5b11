/**
 * How the runner process ends, for whatever supervises it (scripts/up's keel_supervise, a
 * systemd unit with RestartPreventExitStatus=): a runner that ended with one of the refusal
 * codes would end the same way again, so it must not be restarted.
 */
export const EXIT_CODES = {
  /** Stopped on request (SIGINT, SIGTERM). */
  stopped: 0,
  /** Anything unexpected: restarting may help (the edge or Redis was unreachable…). */
  failed: 1,
  /** An admin revoked this runner's credential. */
  revoked: 77,
  /** It cannot run here at all: no sandbox, no usable Docker engine when one was required, bad settings, a refused registration. */
  cannotRun: 78,
} as const;

/** An error after which restarting the runner cannot help. */
export class CannotRunError extends Error {}
