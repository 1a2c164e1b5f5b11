import type { ServerKind, ServerView } from '@keel/contract/servers';
import { CreateServerRequest, UpdateServerRequest } from '@keel/contract/servers';
import type { NewServer, ServerChange } from '../api/servers-api.ts';

/**
 * The add/edit server form as plain values (what its inputs hold, files already read), and the
 * request built from them. Validation runs the contract's own schemas before anything is sent,
 * so a person sees the same rules the edge enforces, under the field they concern.
 */
export interface ServerFormValues {
  kind: ServerKind;
  name: string;
  /** `key=value` pairs, by commas or lines. */
  labels: string;
  region: string;
  capacityWorkspaces: string;
  capacityCpus: string;
  capacityMemoryMb: string;
  assignment: 'none' | 'runner' | 'labels';
  runnerId: string;
  runnerLabels: string;
  storageKind: 'volume' | 'hostDir';
  storagePath: string;
  host: string;
  port: string;
  user: string;
  privateKey: string;
  passphrase: string;
  hostKey: string;
  ca: string;
  cert: string;
  key: string;
  kubeconfig: string;
  namespacePrefix: string;
  storageClass: string;
  sizeGb: string;
}

export type ServerField = Exclude<keyof ServerFormValues, 'kind'>;
export type FieldErrors = Partial<Record<ServerField, string>>;

/** Fields that hold a secret: empty in an edit form, and sent only when filled in again. */
export const SECRET_FIELDS = ['privateKey', 'passphrase', 'ca', 'cert', 'key', 'kubeconfig'] as const;

export type Built<T> = { ok: true; request: T } | { ok: false; fields: FieldErrors; message: string };

export function emptyServerForm(kind: ServerKind = 'ssh'): ServerFormValues {
  return {
    kind,
    name: '',
    labels: '',
    region: '',
    capacityWorkspaces: '10',
    capacityCpus: '',
    capacityMemoryMb: '',
    assignment: 'none',
    runnerId: '',
    runnerLabels: '',
    storageKind: 'volume',
    storagePath: '',
    host: '',
    port: kind === 'docker-tls' ? '2376' : '22',
    user: '',
    privateKey: '',
    passphrase: '',
    hostKey: '',
    ca: '',
    cert: '',
    key: '',
    kubeconfig: '',
    namespacePrefix: 'keel',
    storageClass: '',
    sizeGb: '10',
  };
}

/** The form as an existing server fills it: everything but its secrets, which the API never returns. */
export function serverFormFrom(server: ServerView): ServerFormValues {
  const values = emptyServerForm(server.kind);
  const { endpoint, capacity, assignment, storage } = server;
  return {
    ...values,
    name: server.name,
    labels: labelsText(server.labels),
    region: server.region ?? '',
    capacityWorkspaces: String(capacity.workspaces),
    capacityCpus: capacity.cpus === undefined ? '' : String(capacity.cpus),
    capacityMemoryMb: capacity.memoryMb === undefined ? '' : String(capacity.memoryMb),
    assignment: assignment === null ? 'none' : 'runnerId' in assignment ? 'runner' : 'labels',
    runnerId: assignment && 'runnerId' in assignment ? assignment.runnerId : '',
    runnerLabels: assignment && 'runnerLabels' in assignment ? labelsText(assignment.runnerLabels) : '',
    storageKind: storage.kind === 'hostDir' ? 'hostDir' : 'volume',
    storagePath: storage.kind === 'hostDir' ? storage.path : '',
    host: endpoint.host ?? '',
    port: endpoint.port === undefined ? values.port : String(endpoint.port),
    user: endpoint.user ?? '',
    namespacePrefix: endpoint.namespacePrefix ?? values.namespacePrefix,
    storageClass: storage.kind === 'pvc' ? (storage.storageClass ?? '') : '',
    sizeGb: storage.kind === 'pvc' ? String(storage.sizeGb) : values.sizeGb,
  };
}

function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** `gpu=a100, zone=eu` (or one a line) as labels; a bare key is a label with an empty value. */
export function parseLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  for (const part of text.split(/[,\n]/)) {
    const item = part.trim();
    if (item === '') continue;
    const at = item.indexOf('=');
    const key = (at < 0 ? item : item.slice(0, at)).trim();
    if (key === '') return `“${item}” has no name before =`;
    if (key in labels) return `${key} is given twice`;
    labels[key] = at < 0 ? '' : item.slice(at + 1).trim();
  }
  return labels;
}

/** A number from a text input; NaN for anything else, so the schema reports it under its field. */
function numberOf(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? Number.NaN : Number(trimmed);
}

function optionalNumber(text: string): number | undefined {
  return text.trim() === '' ? undefined : numberOf(text);
}

interface Common {
  name: string;
  labels: Record<string, string>;
  region: string | null;
  capacity: { workspaces: number; cpus?: number; memoryMb?: number };
  assignment: { runnerId: string } | { runnerLabels: Record<string, string> } | null;
}

/** The fields every kind shares; label text that does not parse is reported, not guessed at. */
function common(values: ServerFormValues, fields: FieldErrors): Common {
  const labels = parseLabels(values.labels);
  if (typeof labels === 'string') fields.labels = labels;
  const runnerLabels = parseLabels(values.runnerLabels);
  if (values.assignment === 'labels' && typeof runnerLabels === 'string') fields.runnerLabels = runnerLabels;
  const cpus = optionalNumber(values.capacityCpus);
  const memoryMb = optionalNumber(values.capacityMemoryMb);
  return {
    name: values.name.trim(),
    labels: typeof labels === 'string' ? {} : labels,
    region: values.region.trim() === '' ? null : values.region.trim(),
    capacity: {
      workspaces: numberOf(values.capacityWorkspaces),
      ...(cpus === undefined ? {} : { cpus }),
      ...(memoryMb === undefined ? {} : { memoryMb }),
    },
    assignment:
      values.assignment === 'runner'
        ? { runnerId: values.runnerId }
        : values.assignment === 'labels'
          ? { runnerLabels: typeof runnerLabels === 'string' ? {} : runnerLabels }
          : null,
  };
}

function dockerStorage(values: ServerFormValues) {
  return values.storageKind === 'hostDir'
    ? ({ kind: 'hostDir', path: values.storagePath.trim() } as const)
    : ({ kind: 'volume' } as const);
}

function kubernetesStorage(values: ServerFormValues) {
  const storageClass = values.storageClass.trim();
  return {
    kind: 'pvc' as const,
    sizeGb: numberOf(values.sizeGb),
    ...(storageClass === '' ? {} : { storageClass }),
  };
}

/** The request that registers a server, or the messages that say what to fix first. */
export function buildCreateRequest(values: ServerFormValues): Built<NewServer> {
  const fields: FieldErrors = {};
  const shared = common(values, fields);
  let request: NewServer;
  switch (values.kind) {
    case 'ssh': {
      const passphrase = values.passphrase;
      const hostKey = values.hostKey.trim();
      request = {
        kind: 'ssh',
        ...shared,
        host: values.host.trim(),
        port: numberOf(values.port),
        user: values.user.trim(),
        privateKey: values.privateKey.trim(),
        ...(passphrase === '' ? {} : { passphrase }),
        ...(hostKey === '' ? {} : { hostKey }),
        storage: dockerStorage(values),
      };
      break;
    }
    case 'docker-tls':
      request = {
        kind: 'docker-tls',
        ...shared,
        host: values.host.trim(),
        port: numberOf(values.port),
        ca: values.ca.trim(),
        cert: values.cert.trim(),
        key: values.key.trim(),
        storage: dockerStorage(values),
      };
      break;
    case 'kubernetes':
      request = {
        kind: 'kubernetes',
        ...shared,
        kubeconfig: values.kubeconfig.trim(),
        namespacePrefix: values.namespacePrefix.trim(),
        storage: kubernetesStorage(values),
      };
      break;
  }
  const parsed = CreateServerRequest.safeParse(request);
  return finish(fields, request, parsed.success ? [] : parsed.error.issues);
}

/**
 * What an edit changed, and only that: a PATCH names the fields that differ from the server as it
 * is, and a secret only when one was given again (leaving it empty keeps the sealed one).
 * `request` is undefined when nothing changed.
 */
export function buildChangeRequest(
  server: ServerView,
  values: ServerFormValues,
): Built<ServerChange | undefined> {
  const fields: FieldErrors = {};
  const before = serverFormFrom(server);
  const now = common(values, fields);
  const was = common(before, {});
  const change: Record<string, unknown> = {};
  if (now.name !== was.name) change.name = now.name;
  if (!same(now.labels, was.labels)) change.labels = now.labels;
  if (now.region !== was.region) change.region = now.region;
  if (!same(now.capacity, was.capacity)) change.capacity = now.capacity;
  if (!same(now.assignment, was.assignment)) change.assignment = now.assignment;
  const storage = server.kind === 'kubernetes' ? kubernetesStorage(values) : dockerStorage(values);
  const storageWas = server.kind === 'kubernetes' ? kubernetesStorage(before) : dockerStorage(before);
  if (!same(storage, storageWas)) change.storage = storage;
  if (server.kind !== 'kubernetes') {
    if (values.host.trim() !== before.host) change.host = values.host.trim();
    if (values.port.trim() !== before.port) change.port = numberOf(values.port);
  } else if (values.namespacePrefix.trim() !== before.namespacePrefix) {
    change.namespacePrefix = values.namespacePrefix.trim();
  }
  if (server.kind === 'ssh') {
    if (values.user.trim() !== before.user) change.user = values.user.trim();
    if (values.hostKey.trim() !== '') change.hostKey = values.hostKey.trim();
  }
  const secrets: Record<ServerKind, readonly (typeof SECRET_FIELDS)[number][]> = {
    ssh: ['privateKey', 'passphrase'],
    'docker-tls': ['ca', 'cert', 'key'],
    kubernetes: ['kubeconfig'],
  };
  for (const name of secrets[server.kind]) {
    const value = name === 'passphrase' ? values.passphrase : values[name].trim();
    if (value !== '') change[name] = value;
  }
  if (Object.keys(change).length === 0) return finish(fields, undefined, []);
  const parsed = UpdateServerRequest.safeParse(change);
  return finish(fields, change as ServerChange, parsed.success ? [] : parsed.error.issues);
}

interface Issue {
  path: readonly PropertyKey[];
  message: string;
}

function finish<T>(fields: FieldErrors, request: T, issues: readonly Issue[]): Built<T> {
  const unplaced: string[] = [];
  for (const issue of issues) {
    const field = fieldForPath(issue.path);
    // The first problem with a field is the one to fix; NaN reads better as "a number".
    if (field)
      fields[field] ??= /received NaN/i.test(issue.message) ? 'Enter a number.' : sentence(issue.message);
    else unplaced.push(sentence(issue.message));
  }
  if (Object.keys(fields).length === 0 && unplaced.length === 0) return { ok: true, request };
  const summary = Object.keys(fields).length > 0 ? ['Check the highlighted fields.'] : [];
  return { ok: false, fields, message: [...summary, ...unplaced].join(' ') };
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The form field an issue at a path of the request belongs to (the API's dotted paths too). */
export function fieldForPath(path: readonly PropertyKey[] | string): ServerField | undefined {
  const parts = (typeof path === 'string' ? path.split('.') : path.map(String)).filter((p) => p !== '');
  const [head, next] = parts;
  switch (head) {
    case 'capacity':
      return next === 'cpus'
        ? 'capacityCpus'
        : next === 'memoryMb'
          ? 'capacityMemoryMb'
          : 'capacityWorkspaces';
    case 'assignment':
      return next === 'runnerId' ? 'runnerId' : 'runnerLabels';
    case 'storage':
      return next === 'storageClass' ? 'storageClass' : next === 'sizeGb' ? 'sizeGb' : 'storagePath';
    case 'name':
    case 'labels':
    case 'region':
    case 'host':
    case 'port':
    case 'user':
    case 'privateKey':
    case 'passphrase':
    case 'hostKey':
    case 'ca':
    case 'cert':
    case 'key':
    case 'kubeconfig':
    case 'namespacePrefix':
      return head;
    default:
      return undefined;
  }
}

function sentence(text: string): string {
  const t = text.trim();
  if (t === '') return t;
  const s = t[0]!.toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}
