import { randomUUID } from 'node:crypto';
import { badRequest } from './api-errors.ts';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

/** Time as the API server writes it: RFC 3339, whole seconds. */
export const apiTime = (d = new Date()) => `${d.toISOString().slice(0, 19)}Z`;

/**
 * The stand-in's etcd: objects by resource, namespace and name, with one resourceVersion
 * counter for all of them, as the real store has.
 */
export class ObjectStore {
  private version = 1000;
  private readonly objects = new Map<string, KubeObject>();

  private key(resource: string, namespace: string | undefined, name: string) {
    return `${resource}/${namespace ?? ''}/${name}`;
  }

  nextVersion(): string {
    this.version += 1;
    return String(this.version);
  }

  currentVersion(): string {
    return String(this.version);
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(this.key(resource, namespace, name));
  }

  /** Stores a new object, filling what the server owns in metadata. */
  add(resource: string, obj: KubeObject | Record<string, unknown>): KubeObject {
    const o = obj as KubeObject;
    o.metadata = {
      ...o.metadata,
      uid: randomUUID(),
      resourceVersion: this.nextVersion(),
      creationTimestamp: apiTime(),
    };
    delete o.metadata.generateName;
    this.objects.set(this.key(resource, o.metadata.namespace, o.metadata.name), o);
    return o;
  }

  put(resource: string, obj: KubeObject): KubeObject {
    obj.metadata.resourceVersion = this.nextVersion();
    this.objects.set(this.key(resource, obj.metadata.namespace, obj.metadata.name), obj);
    return obj;
  }

  delete(resource: string, namespace: string | undefined, name: string): void {
    if (this.objects.delete(this.key(resource, namespace, name))) this.nextVersion();
  }

  list(resource: string, namespace?: string, selector?: LabelSelector): KubeObject[] {
    const out: KubeObject[] = [];
    for (const [k, o] of this.objects) {
      if (!k.startsWith(`${resource}/`)) continue;
      if (namespace !== undefined && o.metadata.namespace !== namespace) continue;
      if (selector && !selector(o.metadata.labels ?? {})) continue;
      out.push(o);
    }
    return out.sort((a, b) =>
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
        `${b.metadata.namespace}/${b.metadata.name}`,
      ),
    );
  }
}

export type LabelSelector = (labels: Record<string, string>) => boolean;

/** `a=b,c!=d,e,!f,g in (x,y),h notin (z)` as kube-apiserver parses a labelSelector. */
export function parseLabelSelector(s: string | null): LabelSelector | undefined {
  if (!s) return undefined;
  const terms: LabelSelector[] = [];
  const parts = s.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  for (const raw of parts) {
    const t = raw.trim();
    const eq = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(t);
    const set = /^([\w./-]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(t);
    const absent = /^!([\w./-]+)$/.exec(t);
    const present = /^([\w./-]+)$/.exec(t);
    if (eq) {
      const [, k = '', op, v] = eq;
      terms.push(op === '!=' ? (l) => l[k] !== v : (l) => l[k] === v);
    } else if (set) {
      const [, k = '', op, list = ''] = set;
      const values = list.split(',').map((x) => x.trim());
      terms.push(op === 'in' ? (l) => values.includes(l[k] ?? '\0') : (l) => !values.includes(l[k] ?? '\0'));
    } else if (absent) {
      const k = absent[1] ?? '';
      terms.push((l) => !(k in l));
    } else if (present) {
      const k = present[1] ?? '';
      terms.push((l) => k in l);
    } else {
      throw badRequest(`unable to parse requirement: ${JSON.stringify(t)}`);
    }
  }
  return (l) => terms.every((f) => f(l));
}
