import { execFile } from 'node:child_process';
import { statfs } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { promisify } from 'node:util';
import type { RunnerHeartbeat } from '@keel/contract/runners';
import { VERSION } from './registration.ts';

const run = promisify(execFile);
const MB = 1024 * 1024;

/** GPUs as nvidia-smi reports them; none when the tool is absent or fails. */
export async function gpuStats(): Promise<RunnerHeartbeat['gpus']> {
  try {
    const { stdout } = await run(
      'nvidia-smi',
      ['--query-gpu=index,name,memory.total,memory.used,utilization.gpu', '--format=csv,noheader,nounits'],
      { timeout: 2_000 },
    );
    return stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [index, name, total, used, util] = line.split(',').map((s) => s.trim());
        return {
          index: Number(index),
          name: name ?? 'gpu',
          memoryTotalMb: Number(total),
          memoryUsedMb: Number(used),
          utilizationPercent: Number(util),
        };
      });
  } catch {
    return [];
  }
}

export async function collectHeartbeat(input: {
  runnerId: string;
  driver: RunnerHeartbeat['driver'];
  dataDir: string;
  workspacesRunning: number;
  gpus: RunnerHeartbeat['gpus'];
}): Promise<RunnerHeartbeat> {
  let disk = { totalMb: 0, freeMb: 0 };
  try {
    const s = await statfs(input.dataDir);
    disk = { totalMb: Math.round((s.blocks * s.bsize) / MB), freeMb: Math.round((s.bavail * s.bsize) / MB) };
  } catch {
    // The data folder may not exist yet.
  }
  const [l1, l5, l15] = loadavg();
  return {
    v: 1,
    runnerId: input.runnerId,
    at: new Date().toISOString(),
    version: VERSION,
    driver: input.driver,
    cpus: cpus().length,
    load: [l1 ?? 0, l5 ?? 0, l15 ?? 0],
    memory: { totalMb: Math.round(totalmem() / MB), freeMb: Math.round(freemem() / MB) },
    disk,
    workspacesRunning: input.workspacesRunning,
    gpus: input.gpus,
  };
}
