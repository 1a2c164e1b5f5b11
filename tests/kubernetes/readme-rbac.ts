import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { PolicyRule } from '../harness/kubernetes-api-standin/rbac.ts';

/**
 * The ClusterRole that README.md ("A Kubernetes cluster") tells admins to grant: the tests give the
 * driver's credential exactly these rules, so the documentation cannot fall behind the driver.
 */
export function readmeClusterRole(): PolicyRule[] {
  const text = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = text.slice(text.indexOf('### A Kubernetes cluster'));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("no yaml block in the README's Kubernetes section");
  for (const doc of parseAllDocuments(block)) {
    const o = doc.toJS() as { kind?: string; rules?: PolicyRule[] };
    if (o?.kind === 'ClusterRole' && o.rules) return o.rules;
  }
  throw new Error("no ClusterRole in the README's Kubernetes section");
}
