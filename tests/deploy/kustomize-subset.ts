/**
 * Renders a kustomization the way `kubectl kustomize` does, for the subset deploy/kubernetes
 * uses (no kustomize binary is installed here): `resources` (files and folders), `images`
 * (newName/newTag) and `patches` with a target and an inline JSON 6902 patch. Anything else in
 * a kustomization is refused, so a manifest cannot rely on a feature this does not render.
 * YAML is read as 1.1, as kubectl reads it (0440 is octal there).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  [key: string]: any;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
  patches?: { target: { kind: string; name: string }; patch: string }[];
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'images', 'patches']);

export function renderKustomization(dir: string): K8sObject[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  for (const key of Object.keys(k)) {
    if (!SUPPORTED.has(key)) throw new Error(`${dir}: kustomization field ${key} is not rendered here`);
  }
  const objects: K8sObject[] = [];
  for (const resource of k.resources ?? []) {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) objects.push(...renderKustomization(path));
    else objects.push(...readManifests(path));
  }
  const seen = new Set<string>();
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (seen.has(id)) throw new Error(`${dir}: ${id} is defined twice`);
    seen.add(id);
  }
  for (const p of k.patches ?? []) {
    const targets = objects.filter((o) => o.kind === p.target.kind && o.metadata.name === p.target.name);
    if (targets.length === 0)
      throw new Error(`${dir}: a patch targets ${p.target.kind}/${p.target.name}, absent`);
    const ops = parse(p.patch, { version: '1.1' }) as JsonPatchOp[];
    for (const t of targets) for (const op of ops) applyOp(t, op);
  }
  for (const image of k.images ?? []) {
    let used = false;
    for (const c of objects.flatMap(containersOf)) {
      const [name, tag] = splitImage(c.image);
      if (name !== image.name) continue;
      c.image = `${image.newName ?? name}:${image.newTag ?? tag ?? 'latest'}`;
      used = true;
    }
    if (!used) throw new Error(`${dir}: image ${image.name} is used by no container`);
  }
  return objects;
}

function readManifests(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'), { version: '1.1' })
    .map((d) => {
      if (d.errors.length) throw new Error(`${path}: ${d.errors[0]?.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

function splitImage(image: string): [string, string | undefined] {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? [image.slice(0, at), image.slice(at + 1)] : [image, undefined];
}

/** The pod template of a workload (Deployment, StatefulSet…), if it has one. */
export function podSpecOf(o: K8sObject): any {
  return o.spec?.template?.spec;
}

export function containersOf(o: K8sObject): { name: string; image: string; [key: string]: unknown }[] {
  const pod = podSpecOf(o);
  return pod ? [...(pod.initContainers ?? []), ...(pod.containers ?? [])] : [];
}

interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

/** RFC 6902 add, replace and remove (the operations the overlays use). */
function applyOp(doc: K8sObject, op: JsonPatchOp): void {
  const keys = op.path
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = keys.pop();
  if (last === undefined) throw new Error(`patch path ${op.path} names the whole object`);
  let parent: any = doc;
  for (const key of keys) {
    parent = parent?.[key];
    if (parent === undefined) throw new Error(`patch path ${op.path}: ${key} is absent`);
  }
  const exists = Array.isArray(parent) ? Number(last) < parent.length : Object.hasOwn(parent, last);
  if (op.op !== 'add' && !exists) throw new Error(`patch ${op.op} ${op.path}: absent`);
  if (op.op === 'remove') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (Array.isArray(parent) && op.op === 'add') {
    parent.splice(last === '-' ? parent.length : Number(last), 0, op.value);
  } else {
    parent[last] = op.value;
  }
}
