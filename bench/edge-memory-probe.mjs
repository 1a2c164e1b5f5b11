// Loaded into the edge by the memory benchmark only. On SIGUSR2 it collects all garbage, then
// writes the heap in use and the memory held outside the heap (Buffers and the like) to the file
// named by KEEL_BENCH_MEMORY_FILE: read from inside the process, after a collection, the figure
// holds live data only, which RSS (pages the allocator keeps or returns as it likes) does not.
// Without a collector to call or a file to write, it refuses to start rather than report less.
import { renameSync, writeFileSync } from 'node:fs';

const file = process.env.KEEL_BENCH_MEMORY_FILE;
const gc = globalThis.gc;
if (typeof gc !== 'function') throw new Error('edge-memory-probe: run node with --expose-gc');
if (!file) throw new Error('edge-memory-probe: KEEL_BENCH_MEMORY_FILE is not set');

process.on('SIGUSR2', () => {
  // Twice: what the first collection's finalizers let go is collected by the second.
  gc();
  gc();
  const { heapUsed, external } = process.memoryUsage();
  // Whole or not at all: the bench reads the file as soon as it appears.
  writeFileSync(`${file}.part`, JSON.stringify({ heapUsed, external }));
  renameSync(`${file}.part`, file);
});
