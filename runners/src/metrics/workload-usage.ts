import { readFile } from 'node:fs/promises';

/** What one workspace uses now, as far as its driver can tell; absent fields are unknown. */
export interface WorkloadUsage {
  cpuSeconds?: number;
  memoryBytes?: number;
  memoryLimitBytes?: number;
  receiveBytes?: number;
  transmitBytes?: number;
}

/**
 * Bytes received and sent by the network namespace `pid` lives in, from `/proc/<pid>/net/dev`,
 * loopback left out (a workspace without network has only loopback: 0 and 0). Undefined when
 * the runner cannot see that process (a runner in a container without the host's pid namespace).
 */
export async function namespaceTraffic(
  pid: number,
): Promise<{ receiveBytes: number; transmitBytes: number } | undefined> {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const text = await readFile(`/proc/${pid}/net/dev`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let receiveBytes = 0;
  let transmitBytes = 0;
  // Two header lines, then `iface: rx_bytes rx_packets … (8 receive fields) tx_bytes …`.
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() === 'lo') continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    receiveBytes += fields[0] ?? 0;
    transmitBytes += fields[8] ?? 0;
  }
  return { receiveBytes, transmitBytes };
}

/** A limit the kernel reports for "none" (v1: about 2^63 rounded to a page; v2: `max`). */
export function realLimit(bytes: number | undefined): number | undefined {
  return bytes !== undefined && Number.isFinite(bytes) && bytes > 0 && bytes < 2 ** 60 ? bytes : undefined;
}
