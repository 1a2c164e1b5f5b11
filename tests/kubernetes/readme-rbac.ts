import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { PolicyRule } from '../harness/kubernetes-api-standin/rbac.ts';

/**
 * The ClusterRole that runners/src/workloads/README.md tells admins to grant: the tests give the
 * driver's credential exactly these rules, so the documentation cannot fall behind the driver.
 */
export function readmeClusterRole(): PolicyRule[] {
  const text = readFileSync(new URL('../../runners/src/workloads/README.md', import.meta.url), 'utf8');
  const section = text.slice(text.indexOf('## kubernetes'));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('no yaml block in the README kubernetes section');
  for (const doc of parseAllDocuments(block)) {
    const o = doc.toJS() as { kind?: string; rules?: PolicyRule[] };
    if (o?.kind === 'ClusterRole' && o.rules) return o.rules;
  }
  throw new Error('no ClusterRole in the README kubernetes section');
}
