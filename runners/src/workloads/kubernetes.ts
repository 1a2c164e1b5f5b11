import type { KubernetesAccess } from '../servers/kubernetes-test.ts';
import type { WorkloadDriver } from './types.ts';

export type KubernetesDriver = WorkloadDriver & { close(): Promise<void> };

export async function makeKubernetesDriver(
  _access: KubernetesAccess,
  _opts: { defaultImage?: string } = {},
): Promise<KubernetesDriver> {
  throw new Error('makeKubernetesDriver: not written yet');
}
