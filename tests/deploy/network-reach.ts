/**
 * Whether NetworkPolicies let a connection in, as the Kubernetes NetworkPolicy API defines it
 * (ingress only, which is all deploy/kubernetes restricts): a pod selected by no policy takes
 * everything; a selected pod takes what any rule of any selecting policy allows.
 */
import type { K8sObject } from './kustomize-subset.ts';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

export function selects(selector: LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    const ok =
      e.operator === 'In'
        ? inValues
        : e.operator === 'NotIn'
          ? !inValues
          : e.operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

export interface Endpoint {
  namespace: string;
  namespaceLabels: Record<string, string>;
  podLabels: Record<string, string>;
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: unknown;
}

function peerMatches(peer: Peer, from: Endpoint, policyNamespace: string): boolean {
  if (peer.ipBlock) return false; // pod-to-pod traffic is judged by selectors, not blocks
  const nsOk = peer.namespaceSelector
    ? selects(peer.namespaceSelector, from.namespaceLabels)
    : from.namespace === policyNamespace;
  const podOk = peer.podSelector ? selects(peer.podSelector, from.podLabels) : true;
  return nsOk && podOk;
}

/**
 * Can `from` open `port` (a container port: its number and name) on a pod labelled `to` in `namespace`?
 */
export function ingressAllowed(
  policies: K8sObject[],
  to: { namespace: string; podLabels: Record<string, string> },
  port: { number: number; name?: string },
  from: Endpoint,
): boolean {
  const selecting = policies.filter(
    (p) =>
      p.kind === 'NetworkPolicy' &&
      p.metadata.namespace === to.namespace &&
      (p.spec.policyTypes ?? ['Ingress']).includes('Ingress') &&
      selects(p.spec.podSelector, to.podLabels),
  );
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    (p.spec.ingress ?? []).some((rule: { ports?: { port?: number | string }[]; from?: Peer[] }) => {
      const portOk =
        !rule.ports ||
        rule.ports.some((rp) => rp.port === undefined || rp.port === port.number || rp.port === port.name);
      const fromOk = !rule.from || rule.from.some((peer) => peerMatches(peer, from, p.metadata.namespace!));
      return portOk && fromOk;
    }),
  );
}
