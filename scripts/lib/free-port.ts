/**
 * A free loopback port for a server that another process binds a moment later (scripts/up's
 * Redis and edges, the tests' servers). Picked below the kernel's ephemeral range: a port from
 * that range, which listen(0) hands out, can become the local end of any outgoing connection on
 * the machine before the server binds it, and a machine running Keel and its tests opens
 * thousands of those. Below the range only another explicit bind can take it.
 * Run as a script, it prints one.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The lowest port a chosen one may have (well-known services sit lower). */
const LOWEST = 10_000;

/** The first port of the kernel's ephemeral range (Linux), or undefined where unknown. */
function ephemeralStart(): number | undefined {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : undefined;
  } catch {
    return undefined;
  }
}

/** Binds 127.0.0.1:port (0: any) and lets it go; the port bound, or undefined when it was taken. */
function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      const bound = typeof addr === 'object' && addr ? addr.port : undefined;
      srv.close(() => resolve(bound));
    });
  });
}

export async function freePort(): Promise<number> {
  const below = ephemeralStart();
  if (below !== undefined && below - LOWEST >= 1_000) {
    for (let i = 0; i < 50; i++) {
      const port = await probe(LOWEST + Math.floor(Math.random() * (below - LOWEST)));
      if (port !== undefined) return port;
    }
  }
  // A machine with no room below its ephemeral range (or 50 taken in a row): the kernel's choice.
  const port = await probe(0);
  if (port === undefined) throw new Error('no free loopback port');
  return port;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await freePort());
}
