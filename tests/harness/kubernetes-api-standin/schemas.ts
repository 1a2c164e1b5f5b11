import { SelfSubjectAccessReview } from 'kubernetes-models/authorization.k8s.io/v1/SelfSubjectAccessReview';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Pod } from 'kubernetes-models/v1/Pod';

/**
 * Every object a client sends is checked against the official OpenAPI schemas (the
 * kubernetes-models classes), plus the name and label rules that the API server's own
 * validation adds on top of the schema.
 */
const MODELS = {
  Namespace,
  Pod,
  PersistentVolumeClaim,
  NetworkPolicy,
  SelfSubjectAccessReview,
} as const;
export type ModelKind = keyof typeof MODELS;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export interface Cause {
  field?: string;
  message: string;
}

function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'a qualified name must have at most one /';
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return 'prefix must be a DNS subdomain';
  if (!name || name.length > 63 || !LABEL_NAME.test(name))
    return 'name part must be 63 characters or less of [A-Za-z0-9_.-]';
  return undefined;
}

/** What the API server would refuse in `body` of `kind` (empty: valid). */
export function validateObject(kind: ModelKind, body: unknown, opts: { namespaced: boolean }): Cause[] {
  const causes: Cause[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return [{ message: 'body must be a JSON object' }];
  const b = body as { kind?: unknown; apiVersion?: unknown; metadata?: Record<string, unknown> };
  const Model = MODELS[kind];
  const expectedVersion = (Model as unknown as { apiVersion: string }).apiVersion;
  if (b.kind !== undefined && b.kind !== kind) causes.push({ field: 'kind', message: `must be ${kind}` });
  if (b.apiVersion !== undefined && b.apiVersion !== expectedVersion)
    causes.push({ field: 'apiVersion', message: `must be ${expectedVersion}` });
  try {
    new (Model as unknown as new (d: unknown) => { validate(): void })({
      ...b,
      apiVersion: expectedVersion,
      kind,
    }).validate();
  } catch (err) {
    causes.push({ message: `schema: ${(err as Error).message}` });
  }
  if (kind === 'SelfSubjectAccessReview') return causes;

  const meta = b.metadata ?? {};
  const name = meta.name;
  const nameRe = kind === 'Namespace' ? DNS_LABEL : DNS_SUBDOMAIN;
  if (typeof name !== 'string' || name.length === 0)
    causes.push({ field: 'metadata.name', message: 'Required value: name is required' });
  else if (name.length > (kind === 'Namespace' ? 63 : 253) || !nameRe.test(name))
    causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": a lowercase RFC 1123 name` });
  if (!opts.namespaced && meta.namespace !== undefined)
    causes.push({ field: 'metadata.namespace', message: 'not allowed on this type' });
  for (const [field, map] of [
    ['metadata.labels', meta.labels],
    ['metadata.annotations', meta.annotations],
  ] as const) {
    if (map === undefined) continue;
    for (const [k, v] of Object.entries(map as Record<string, unknown>)) {
      const problem = labelKeyProblem(k);
      if (problem) causes.push({ field: `${field}`, message: `Invalid value: "${k}": ${problem}` });
      if (typeof v !== 'string') causes.push({ field: `${field}[${k}]`, message: 'must be a string' });
      else if (field === 'metadata.labels' && (v.length > 63 || !LABEL_VALUE.test(v)))
        causes.push({ field: `${field}`, message: `Invalid value: "${v}": a valid label value` });
    }
  }
  if (kind === 'Pod' && typeof name === 'string' && name.length > 63)
    causes.push({
      field: 'metadata.name',
      message: 'must be no more than 63 characters (it is the hostname)',
    });
  return causes;
}
