/**
 * What one socket may send into a terminal session: a token bucket of frames and one of
 * characters, refilled continuously. Typing and pasting stay far below it; a client that
 * floods the input stream faster than a shell reads it is stopped before Redis holds the flood.
 */
export class InputBudget {
  private frames: number;
  private chars: number;
  private at: number;

  constructor(
    private readonly limits: {
      framesPerSecond: number;
      frameBurst: number;
      charsPerSecond: number;
      charBurst: number;
    },
    private readonly now: () => number = () => performance.now(),
  ) {
    this.frames = limits.frameBurst;
    this.chars = limits.charBurst;
    this.at = now();
  }

  /** Takes one frame of `chars` characters from the budget; false (and nothing taken) when it has not enough. */
  take(chars: number): boolean {
    const now = this.now();
    const seconds = Math.max(0, now - this.at) / 1000;
    this.at = now;
    const l = this.limits;
    this.frames = Math.min(l.frameBurst, this.frames + seconds * l.framesPerSecond);
    this.chars = Math.min(l.charBurst, this.chars + seconds * l.charsPerSecond);
    if (this.frames < 1 || this.chars < chars) return false;
    this.frames -= 1;
    this.chars -= chars;
    return true;
  }
}
