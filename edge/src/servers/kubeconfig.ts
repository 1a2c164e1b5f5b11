import { parse } from 'yaml';
import { z } from 'zod';
import { fromBase64 } from '../auth/bytes.ts';
import { ApiError } from '../http/api-error.ts';

/** What Keel keeps of a kubeconfig: the current context's API server and how to sign in to it. */
export interface KubeconfigAccess {
  url: string;
  /** PEM of the CA that signs the API server's certificate; absent: the system's CAs. */
  ca?: string;
  /** PEM of the client certificate (not secret) and its key (secret), or a bearer token (secret). */
  cert?: string;
  key?: string;
  token?: string;
}

const Fields = z.record(z.string(), z.unknown());

/** Only the fields Keel reads; others (preferences, extensions, namespaces) are left alone. */
const Kubeconfig = z.object({
  'current-context': z.string().min(1),
  contexts: z
    .array(z.object({ name: z.string(), context: z.object({ cluster: z.string(), user: z.string() }) }))
    .default([]),
  clusters: z.array(z.object({ name: z.string(), cluster: Fields })).default([]),
  users: z
    .array(z.object({ name: z.string(), user: Fields.nullable().transform((u) => u ?? {}) }))
    .default([]),
});

const PEM = /^-----BEGIN [A-Z0-9 ]+-----[\s\S]+-----END [A-Z0-9 ]+-----\s*$/;
/** A bearer token: printable, no spaces (a service account's JWT, or a static token). */
const TOKEN = /^[\x21-\x7e]{1,16384}$/;

function refuse(reason: string): never {
  throw new ApiError('validation_failed', `The kubeconfig is not usable: ${reason}`, [
    { path: 'kubeconfig', message: reason },
  ]);
}

/** A `*-data` field: base64 of a PEM document. The value itself is never put in a message. */
function pemData(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') refuse(`${field} must be base64 of a PEM document`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(fromBase64(value.replace(/\s+/g, '')));
  } catch {
    refuse(`${field} is not base64 of a PEM document`);
  }
  if (!PEM.test(text)) refuse(`${field} does not hold a PEM document`);
  return text;
}

/**
 * Reads a kubeconfig (YAML or JSON) the way kubectl would pick its connection: the current
 * context's cluster and user. Only embedded data is taken; a file path means nothing to the
 * runner that will use it, an `exec` or `auth-provider` user would run a program there, and
 * skipping TLS verification hands the credential to whoever answers: each is refused (422).
 */
export function parseKubeconfig(text: string): KubeconfigAccess {
  let doc: unknown;
  try {
    // Aliases are bounded (yaml's own limit) so a nested alias bomb cannot blow up here.
    doc = parse(text, { maxAliasCount: 50, prettyErrors: false });
  } catch {
    refuse('it is neither YAML nor JSON');
  }
  const parsed = Kubeconfig.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    refuse(`${issue?.path.join('.') || 'the document'}: ${issue?.message ?? 'not a kubeconfig'}`);
  }
  const config = parsed.data;
  const contextName = config['current-context'];
  const context = config.contexts.find((c) => c.name === contextName)?.context;
  if (!context) refuse(`the current context "${short(contextName)}" is not among its contexts`);
  const cluster = config.clusters.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster) refuse(`the context's cluster "${short(context.cluster)}" is not among its clusters`);
  const user = config.users.find((u) => u.name === context.user)?.user;
  if (!user) refuse(`the context's user "${short(context.user)}" is not among its users`);

  if (cluster['insecure-skip-tls-verify'] === true) {
    refuse('insecure-skip-tls-verify is not accepted: give the cluster’s CA as certificate-authority-data');
  }
  if (cluster['certificate-authority'] !== undefined) {
    refuse('certificate-authority is a file path: embed it as certificate-authority-data');
  }
  const server = cluster.server;
  if (typeof server !== 'string') refuse('the cluster has no server URL');
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    refuse('the cluster’s server is not a URL');
  }
  if (url.protocol !== 'https:') refuse('the cluster’s server must be an https:// URL');
  if (url.username || url.password) refuse('the cluster’s server URL must not carry a user or password');
  if (server.length > 2048) refuse('the cluster’s server URL is too long');

  if (user.exec !== undefined) refuse('users with exec (a program run to get a token) are not accepted');
  if (user['auth-provider'] !== undefined) refuse('users with an auth-provider are not accepted');
  for (const field of ['client-certificate', 'client-key', 'tokenFile']) {
    if (user[field] !== undefined) refuse(`${field} is a file path: embed it (${field}-data or token)`);
  }
  if (user.username !== undefined || user.password !== undefined) {
    refuse(
      'basic authentication (username and password) is not accepted: use a token or a client certificate',
    );
  }
  const access: KubeconfigAccess = { url: url.toString().replace(/\/$/, '') };
  if (cluster['certificate-authority-data'] !== undefined) {
    access.ca = pemData(cluster['certificate-authority-data'], 'certificate-authority-data');
  }
  const hasCert = user['client-certificate-data'] !== undefined;
  const hasKey = user['client-key-data'] !== undefined;
  if (hasCert !== hasKey) refuse('client-certificate-data and client-key-data go together');
  if (hasCert) {
    access.cert = pemData(user['client-certificate-data'], 'client-certificate-data');
    access.key = pemData(user['client-key-data'], 'client-key-data');
  }
  if (user.token !== undefined) {
    if (typeof user.token !== 'string' || !TOKEN.test(user.token)) refuse('the token is not a bearer token');
    access.token = user.token;
  }
  if (!access.token && !access.key) {
    refuse('the user has neither a token nor client-certificate-data and client-key-data');
  }
  return access;
}

/** Names from the document, cut short for a message. */
function short(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}…` : name;
}
