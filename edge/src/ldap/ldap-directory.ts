import type { DirectoryErrorCode, LdapConfig } from '@keel/contract/identity';
import { Client, type Entry, InvalidCredentialsError } from 'ldapts';
import { escapeFilterBytes, escapeFilterValue, fillFilter } from './ldap-filter.ts';

/**
 * The directory as the edge sees it, over `ldapts` (Node sockets: the edge loads this module
 * only on Node, see ldap-runtime.ts). Every call opens its own connection, is bounded by the
 * provider's timeout as a whole (connect, StartTLS, binds and searches together), and closes it.
 */

/** A person as the directory describes them. */
export interface DirectoryPerson {
  dn: string;
  subject: string;
  email: string | null;
  name: string | null;
  groups: string[];
  disabled: boolean;
}

export class DirectoryError extends Error {
  constructor(
    readonly code: DirectoryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** AD's userAccountControl ACCOUNTDISABLE bit. */
const AD_ACCOUNT_DISABLED = 0x2;
/** Attributes that hold binary ids: read as bytes and shown in hex. */
const BINARY_SUBJECTS = new Set(['objectguid', 'objectsid']);

/** Looks a person up by username with the service account. */
export function findPerson(
  config: LdapConfig,
  bindPassword: string,
  username: string,
): Promise<DirectoryPerson | undefined> {
  return withDirectory(config, bindPassword, (client) =>
    searchPerson(client, config, fillFilter(config.userFilter, { username }), username),
  );
}

/** Looks a person up again by the subject stored at sign-in (the re-check at refresh). */
export function findPersonBySubject(
  config: LdapConfig,
  bindPassword: string,
  subject: string,
): Promise<DirectoryPerson | undefined> {
  const attribute = config.attributes.subject;
  const value = BINARY_SUBJECTS.has(attribute.toLowerCase())
    ? escapeFilterBytes(Buffer.from(subject, 'hex'))
    : escapeFilterValue(subject);
  return withDirectory(config, bindPassword, (client) =>
    searchPerson(client, config, `(${attribute}=${value})`, undefined),
  );
}

/**
 * Checks a username and password: the service account finds the person, then the person's own
 * bind proves the password. An unknown name still costs a bind (to a DN that does not exist),
 * so both refusals take the same round trips.
 */
export function checkCredentials(
  config: LdapConfig,
  bindPassword: string,
  username: string,
  password: string,
): Promise<{ kind: 'ok'; person: DirectoryPerson } | { kind: 'invalid' }> {
  return withDirectory(config, bindPassword, async (client) => {
    const person = await searchPerson(client, config, fillFilter(config.userFilter, { username }), username);
    const dn = person?.dn ?? `cn=keel-no-such-person-${crypto.randomUUID()},${config.userSearchBase}`;
    try {
      await client.bind(dn, password);
    } catch (err) {
      if (err instanceof InvalidCredentialsError) return { kind: 'invalid' };
      throw err;
    }
    return person ? { kind: 'ok', person } : { kind: 'invalid' };
  });
}

async function withDirectory<T>(
  config: LdapConfig,
  bindPassword: string,
  work: (client: Client) => Promise<T>,
): Promise<T> {
  const ms = config.timeoutSeconds * 1000;
  const tlsOptions = {
    ...(config.caCertificate ? { ca: [config.caCertificate] } : {}),
    minVersion: 'TLSv1.2' as const,
  };
  // ldapts speaks TLS from the first byte whenever it is given TLS options: only for ldaps://.
  const ldaps = config.url.toLowerCase().startsWith('ldaps://');
  const client = new Client({
    url: config.url,
    timeout: ms,
    connectTimeout: ms,
    strictDN: false,
    ...(ldaps ? { tlsOptions } : {}),
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new DirectoryError('timeout', `The directory did not answer within ${config.timeoutSeconds} s`),
        ),
      ms,
    );
  });
  const run = async () => {
    if (config.startTls) {
      try {
        await client.startTLS(tlsOptions);
      } catch (err) {
        throw classify(err, 'tls_failed');
      }
    }
    try {
      await client.bind(config.bindDn, bindPassword);
    } catch (err) {
      if (err instanceof InvalidCredentialsError)
        throw new DirectoryError(
          'bind_failed',
          'The directory refused the service account (bind DN or password)',
        );
      throw err;
    }
    return work(client);
  };
  try {
    return await Promise.race([run(), deadline]);
  } catch (err) {
    throw err instanceof DirectoryError ? err : classify(err, 'search_failed');
  } finally {
    clearTimeout(timer);
    // Unbind politely but never wait on a dead server for it.
    void client.unbind().catch(() => {});
  }
}

async function searchPerson(
  client: Client,
  config: LdapConfig,
  filter: string,
  username: string | undefined,
): Promise<DirectoryPerson | undefined> {
  const { email, name, subject } = config.attributes;
  const wanted = [email, name, subject];
  if (config.groups.kind === 'member_of') wanted.push(config.groups.attribute);
  if (config.disabled.kind === 'active_directory') wanted.push('userAccountControl');
  if (config.disabled.kind === 'attribute') wanted.push(config.disabled.attribute);
  const binary = BINARY_SUBJECTS.has(subject.toLowerCase()) ? [subject] : [];
  const { searchEntries } = await client.search(config.userSearchBase, {
    scope: 'sub',
    filter,
    attributes: wanted,
    explicitBufferAttributes: binary,
    // Two are enough to tell "exactly one" from "ambiguous".
    sizeLimit: 2,
    timeLimit: config.timeoutSeconds,
  });
  // An ambiguous filter must not pick someone: refuse as if unknown.
  if (searchEntries.length !== 1) return undefined;
  const entry = searchEntries[0]!;
  let groups: string[];
  if (config.groups.kind === 'member_of') groups = values(entry, config.groups.attribute);
  else {
    const found = await client.search(config.groups.searchBase, {
      scope: 'sub',
      filter: fillFilter(config.groups.filter, { dn: entry.dn, username: username ?? '' }),
      attributes: ['dn'],
      sizeLimit: 1000,
      timeLimit: config.timeoutSeconds,
    });
    groups = found.searchEntries.map((g) => g.dn);
  }
  const subjectValue = binary.length ? bufferHex(entry[subject]) : first(entry, subject);
  return {
    dn: entry.dn,
    subject: subjectValue ?? entry.dn,
    email: first(entry, email)?.toLowerCase() ?? null,
    name: first(entry, name) ?? null,
    groups,
    disabled: isDisabled(config, entry),
  };
}

function isDisabled(config: LdapConfig, entry: Entry): boolean {
  const check = config.disabled;
  if (check.kind === 'none') return false;
  if (check.kind === 'active_directory') {
    const uac = Number(first(entry, 'userAccountControl') ?? '0');
    return Number.isFinite(uac) && (uac & AD_ACCOUNT_DISABLED) !== 0;
  }
  const present = values(entry, check.attribute);
  if (check.value === undefined) return present.length > 0;
  const wanted = check.value.toLowerCase();
  return present.some((v) => v.toLowerCase() === wanted);
}

/** An attribute's values as strings, whatever case the server spelled its name in. */
function values(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (!key) return [];
  const v = entry[key];
  if (v === undefined) return [];
  const list: (string | Buffer)[] = Array.isArray(v) ? v : [v];
  return list.map((x) => (typeof x === 'string' ? x : x.toString('utf8'))).filter((x) => x !== '');
}

function first(entry: Entry, attribute: string): string | undefined {
  return values(entry, attribute)[0];
}

function bufferHex(v: Entry[string] | undefined): string | undefined {
  const one = Array.isArray(v) ? v[0] : v;
  return Buffer.isBuffer(one) ? one.toString('hex') : undefined;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNRESET',
  'EPIPE',
]);

/** Names what went wrong, without echoing anything the server or the request carried. */
function classify(err: unknown, fallback: DirectoryErrorCode): DirectoryError {
  if (err instanceof DirectoryError) return err;
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && UNREACHABLE.has(code))
    return new DirectoryError('unreachable', `The directory could not be reached (${code})`);
  if (
    (typeof code === 'string' && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code)) ||
    /certificate|ssl|tls|handshake/i.test(message)
  )
    return new DirectoryError(
      'tls_failed',
      `TLS with the directory failed${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  if (/timed? ?out/i.test(message))
    return new DirectoryError('timeout', 'The directory did not answer in time');
  if (/socket|connect|closed/i.test(message))
    return new DirectoryError('unreachable', 'The directory closed or refused the connection');
  return new DirectoryError(
    fallback,
    `The directory refused the request (${err instanceof Error ? err.constructor.name : 'error'})`,
  );
}
