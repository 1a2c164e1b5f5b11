import { randomBytes } from 'node:crypto';
import { TERMINAL_INPUT_MAX_CHARS } from '@keel/contract/terminal';
import WebSocket from 'ws';

/**
 * One simulated terminal connection, as Coder's scaletest drives them: it writes random data at a
 * set rate into a shell turned into `cat` on a raw, non-echoing TTY, reads it back, and checks that
 * every byte returns, in order. A dropped socket reconnects to the same session from the last
 * output it saw, as the web app does, and the check goes on across it.
 */
export interface EchoFigures {
  /** Bytes written, and bytes read back that matched. */
  sent: number;
  echoed: number;
  /** Written but never read back by the end (after a drain wait). */
  lost: number;
  /** Read back but not what was written there (or more than was written). */
  outOfOrder: number;
  disconnects: number;
  reconnects: number;
  /** Each write's round trip: sent until its last byte came back, ms. */
  echoMs: number[];
  errors: string[];
}

/** Raw mode (no line discipline, no output processing), no echo, then `cat`: what goes in comes out. */
const SETUP = "stty raw -echo; printf '%s_%s\\n' SCALE GO; exec cat\r";
/** What printf writes, and the command line's own echo does not contain. */
export const MARKER = 'SCALE_GO\n';
/** How often a terminal writes: 40 KB/s is 4 KB a tick. */
export const TICK_MS = 100;
const DRAIN_MS = 10_000;
const RECONNECT_TRIES = 5;

/** Printable random data (base64's alphabet: nothing a raw TTY treats specially), drawn at random offsets. */
const POOL = randomBytes(3 * 256 * 1024).toString('base64');
function randomData(chars: number): string {
  let out = '';
  while (out.length < chars) {
    const at = Math.floor(Math.random() * (POOL.length - 1));
    out += POOL.slice(at, at + chars - out.length);
  }
  return out;
}

export class EchoTerminal {
  readonly figures: EchoFigures = {
    sent: 0,
    echoed: 0,
    lost: 0,
    outOfOrder: 0,
    disconnects: 0,
    reconnects: 0,
    echoMs: [],
    errors: [],
  };
  private ws: WebSocket | undefined;
  private session: string | undefined;
  private lastSeq: string | undefined;
  /** Output before the marker: the prompt and the setup's echo. */
  private preamble = '';
  private live = false;
  /** Written and not yet read back, oldest first; `headAt`: how much of the first has come back. */
  private pending: { data: string; sentAt: number }[] = [];
  private headAt = 0;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private ready: Promise<void>;
  private markReady!: () => void;
  private failReady!: (err: Error) => void;
  private drained: (() => void) | undefined;

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.markReady = resolve;
      this.failReady = reject;
    });
  }

  /** Opens the session and waits until `cat` runs on a raw TTY. */
  async open(timeoutMs = 30_000): Promise<void> {
    this.connect();
    const timer = setTimeout(
      () =>
        this.failReady(new Error(`terminal not ready; output: ${JSON.stringify(this.preamble.slice(-300))}`)),
      timeoutMs,
    );
    try {
      await this.ready;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Writes `rate` bytes a second, in one frame per tick, until stopped, its ticks `phaseMs` after
   * the others': people type independently, so N terminals whose ticks all fell in the same
   * millisecond would measure a burst of N frames queued behind each other every tick, not a load.
   */
  drive(rate: number, phaseMs = 0): void {
    this.timer = setTimeout(() => this.driveNow(rate), phaseMs);
  }

  private driveNow(rate: number): void {
    // Owed by the clock, not by ticks: a late timer on a busy host sends more, not less.
    const start = performance.now();
    let written = 0;
    this.timer = setInterval(() => {
      const owed = Math.floor((rate * (performance.now() - start)) / 1000) - written;
      // Never more than one frame holds: a long stall is not made up in one burst.
      const chars = Math.min(owed, TERMINAL_INPUT_MAX_CHARS);
      if (chars < 1) return;
      written += chars;
      // While the socket is down the bytes are not written: the throughput says so.
      if (this.ws?.readyState !== WebSocket.OPEN) return;
      this.write(randomData(chars));
    }, TICK_MS);
  }

  /**
   * Writes once more and closes the socket at once, as a tab that goes away does: the echo of
   * that write comes after the socket, so the reconnect must replay it, once.
   */
  dropSocket(): void {
    this.write(randomData(1024));
    this.ws?.close();
  }

  private write(data: string): void {
    this.pending.push({ data, sentAt: performance.now() });
    this.figures.sent += data.length;
    this.ws!.send(JSON.stringify({ type: 'input', data }));
  }

  /** Stops writing, waits (up to `drainMs`) for what is in flight to come back, and closes. */
  async stop(drainMs = DRAIN_MS): Promise<EchoFigures> {
    clearInterval(this.timer);
    if (this.outstanding() > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.figures.lost = this.outstanding();
    this.stopping = true;
    this.ws?.close();
    return this.figures;
  }

  private outstanding(): number {
    return this.pending.reduce((n, p) => n + p.data.length, 0) - this.headAt;
  }

  private connect(): void {
    const url = new URL(this.url);
    if (this.session) url.searchParams.set('session', this.session);
    if (this.lastSeq) url.searchParams.set('lastSeq', this.lastSeq);
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.token}` } });
    this.ws = ws;
    ws.on('message', (raw) => this.onFrame(JSON.parse(String(raw))));
    ws.on('unexpected-response', (_req, res) => {
      this.figures.errors.push(`handshake refused: HTTP ${res.statusCode}`);
      res.resume();
    });
    ws.on('error', (err) => this.figures.errors.push(err.message));
    let opened = false;
    ws.on('open', () => {
      opened = true;
    });
    ws.on('close', (code) => {
      if (opened) this.onClose(ws, code);
      else if (!this.session)
        this.failReady(new Error(`terminal socket refused: ${this.figures.errors.at(-1)}`));
    });
  }

  private onFrame(frame: { type: string; [k: string]: unknown }): void {
    switch (frame.type) {
      case 'ready':
        if (!this.session) {
          this.session = frame.session as string;
          this.ws!.send(JSON.stringify({ type: 'input', data: SETUP }));
        } else this.figures.reconnects++;
        return;
      case 'output':
        this.lastSeq = frame.seq as string;
        this.onOutput(frame.data as string);
        return;
      case 'exit':
        this.figures.errors.push(`terminal exited: ${JSON.stringify(frame)}`);
        return;
      case 'error':
        this.figures.errors.push(`${frame.code}: ${frame.message}`);
        return;
    }
  }

  private onOutput(data: string): void {
    if (!this.live) {
      this.preamble += data;
      const at = this.preamble.indexOf(MARKER);
      if (at === -1) return;
      this.live = true;
      data = this.preamble.slice(at + MARKER.length);
      this.markReady();
    }
    let i = 0;
    while (i < data.length) {
      const head = this.pending[0];
      if (!head) {
        // More came back than was written.
        this.figures.outOfOrder += data.length - i;
        return;
      }
      const take = Math.min(head.data.length - this.headAt, data.length - i);
      const want = head.data.slice(this.headAt, this.headAt + take);
      const got = data.slice(i, i + take);
      if (want === got) this.figures.echoed += take;
      else
        for (let k = 0; k < take; k++) {
          if (want[k] === got[k]) this.figures.echoed++;
          else this.figures.outOfOrder++;
        }
      i += take;
      this.headAt += take;
      if (this.headAt === head.data.length) {
        this.figures.echoMs.push(performance.now() - head.sentAt);
        this.pending.shift();
        this.headAt = 0;
      }
    }
    if (this.pending.length === 0) this.drained?.();
  }

  private onClose(ws: WebSocket, code: number): void {
    if (this.stopping || ws !== this.ws) return;
    this.figures.disconnects++;
    this.figures.errors.push(`socket closed: ${code}`);
    if (!this.session) {
      this.failReady(new Error(`terminal socket closed (${code}) before its session was ready`));
      return;
    }
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    for (let tries = 0; tries < RECONNECT_TRIES && !this.stopping; tries++) {
      await new Promise((r) => setTimeout(r, 250 * 2 ** tries));
      this.connect();
      const opened = await new Promise<boolean>((resolve) => {
        this.ws!.once('open', () => resolve(true));
        this.ws!.once('close', () => resolve(false));
      });
      if (opened) return;
    }
  }
}
