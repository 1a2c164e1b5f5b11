import { spawn } from 'node-pty';
import { connectTerminal, type TerminalSocket } from '../tests/terminal/terminal-client.ts';
import type { Figure } from './figure.ts';
import { count } from './scale.ts';
import { round, summarize } from './stats.ts';
import { startSystem } from './system.ts';

const N = count(1000, 100);
const WARMUP = count(100, 20);
/** Typed at the shell's prompt, alternately: readline echoes the character, then erases it. */
const KEYS = ['x', '\x7f'];
/** What each key's echo holds: the character itself, and the backspace of readline's erase ("\b \b"). */
const ECHOES = ['x', '\b'];
const ECHO_TIMEOUT_MS = 5_000;

/** The terminal's output as it arrives; `next` resolves once the output after it holds the echo. */
class EchoWatch {
  private seen = '';
  private want = '';
  private wake: (() => void) | undefined;

  push(data: string): void {
    this.seen += data;
    if (this.wake && this.seen.includes(this.want)) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
    }
  }

  next(echo: string): Promise<void> {
    this.seen = '';
    this.want = echo;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no echo ${JSON.stringify(echo)}; output: ${JSON.stringify(this.seen)}`)),
        ECHO_TIMEOUT_MS,
      );
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** Times one keystroke at a time from sending it until its echo comes back. */
async function measure(
  send: (key: string) => void,
  watch: EchoWatch,
  samples: number,
  warmup = WARMUP,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < warmup + samples; i++) {
    const echoed = watch.next(ECHOES[i % 2]!);
    const t = performance.now();
    send(KEYS[i % 2]!);
    await echoed;
    if (i >= warmup) out.push(performance.now() - t);
  }
  return out;
}

/** The floor: a shell on a pty of this process, no edge, Redis or runner in between. */
async function directPty(): Promise<number[]> {
  const pty = spawn('/bin/bash', ['--norc', '--noprofile', '-i'], {
    name: 'xterm-256color',
    cols: 80,
    rows: 24,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm-256color', PS1: '$ ' },
  });
  const watch = new EchoWatch();
  pty.onData((data) => watch.push(data));
  await new Promise((r) => setTimeout(r, 500));
  try {
    return await measure((key) => pty.write(key), watch, N);
  } finally {
    pty.kill('SIGKILL');
  }
}

/**
 * Keystroke echoes through a terminal socket, `samples` at a time after `warmup` (for benches that
 * take them in rounds: an even number keeps each round ending at an empty prompt).
 */
export function keystrokeEchoes(
  term: TerminalSocket,
): (samples: number, warmup: number) => Promise<number[]> {
  const watch = new EchoWatch();
  // Registered after the socket's own listener, which has parsed the frame and kept it last.
  term.ws.on('message', () => {
    const frame = term.frames.at(-1);
    if (frame?.type === 'output') watch.push(frame.data);
  });
  return (samples, warmup) => measure((key) => term.type(key), watch, samples, warmup);
}

/** Through it all: WebSocket → edge → Redis → runner → pty, and the echo back the same way. */
async function throughKeel(term: TerminalSocket): Promise<number[]> {
  return keystrokeEchoes(term)(N, WARMUP);
}

/**
 * Keystroke-to-echo round trip of the terminal, with the edge and a process-driver runner each in its
 * own process (as deployed), against a shell on a pty opened directly by node-pty in the same run.
 */
export async function benchTerminalEcho(): Promise<Figure[]> {
  const direct = summarize(await directPty());
  const sys = await startSystem('process');
  try {
    const ws = await sys.workspace('bench-terminal');
    const term = await connectTerminal(sys.base, sys.admin, ws);
    await term.waitForOutput('$ ');
    const keel = summarize(await throughKeel(term));
    await term.close();
    const row = (label: string, q: 'p50' | 'p99', floor: number): Figure => ({
      name: `terminal keystroke → echo, ${label} (n=${N})`,
      keel: `${round(keel[q])} ms`,
      baseline: `${round(direct[q])} ms (node-pty, same host)`,
      ratio: `+${round(keel[q] - direct[q])} ms`,
      target: `≤ ${floor} ms`,
      pass: keel[q] <= floor,
    });
    return [row('p50', 'p50', 5), row('p99', 'p99', 15)];
  } finally {
    await sys.stop();
  }
}
