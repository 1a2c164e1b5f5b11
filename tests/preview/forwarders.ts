import type { Rig } from '../harness/runner-rig.ts';

/** Processes in the workspace running the file agent's loader: the preview forwarder. */
export async function forwardersIn(rig: Rig, ws: string): Promise<number> {
  const h = rig.driver.exec(ws, {
    argv: ['sh', '-c', `grep -l -E 'process[.]stdin;let b=Buffer' /proc/[0-9]*/cmdline 2>/dev/null | wc -l`],
  });
  let out = '';
  h.stdout.on('data', (c: Buffer) => (out += c));
  await h.done;
  // (The pattern does not match its own command line, nor the shell's.)
  return Number(out.trim());
}
