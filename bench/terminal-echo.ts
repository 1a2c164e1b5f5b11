import { spawn } from 'node-pty';
import { connectTerminal, type TerminalSocket } from '../tests/terminal/terminal-client.ts';
import type { Figure } from './figure.ts';
import { round, summarize } from './stats.ts';
import { startSystem } from './system.ts';

const N = 1000;
const WARMUP = 100;
/** Typed at the shell's prompt, alternately: readline echoes the character, then erases it. */
const KEYS = ['x', '\x7f'];

/** Times one keystroke at a time from sending it until its echo comes back. */
async function measure(
  send: (key: string) => void,
  nextOutput: () => Promise<void>,
  samples: number,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < WARMUP + samples; i++) {
    const echoed = nextOutput();
    const t = performance.now();
    send(KEYS[i % 2]!);
    await echoed;
    if (i >= WARMUP) out.push(performance.now() - t);
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
  let wake: (() => void) | undefined;
  pty.onData(() => wake?.());
  await new Promise((r) => setTimeout(r, 500));
  try {
    return await measure(
      (key) => pty.write(key),
      () => new Promise<void>((r) => (wake = r)),
      N,
    );
  } finally {
    pty.kill('SIGKILL');
  }
}

/** Through it all: WebSocket → edge → Redis → runner → pty, and the echo back the same way. */
async function throughKeel(term: TerminalSocket): Promise<number[]> {
  let wake: (() => void) | undefined;
  term.ws.on('message', () => wake?.());
  return measure(
    (key) => term.type(key),
    () => new Promise<void>((r) => (wake = r)),
    N,
  );
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
