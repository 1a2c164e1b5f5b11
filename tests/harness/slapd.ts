/*
 * A real OpenLDAP server for the directory sign-in tests: Debian's /usr/sbin/slapd on two free
 * loopback ports (ldap:// with StartTLS, and ldaps://), from a slapd.conf and an LDIF seed made
 * here for each start, with a test CA and a server certificate made with openssl (and a second CA
 * that signed nothing of the server's, for the wrong-CA test).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor } from './ports.ts';
import { type Spawned, spawnService } from './processes.ts';

const run = promisify(execFile);

export const SLAPD_BIN = '/usr/sbin/slapd';
export const SUFFIX = 'dc=keel,dc=test';
export const ROOT_DN = `cn=admin,${SUFFIX}`;
export const SERVICE_DN = `cn=keel-search,ou=system,${SUFFIX}`;
export const PEOPLE = `ou=people,${SUFFIX}`;
export const GROUPS = `ou=groups,${SUFFIX}`;
export const groupDn = (cn: string) => `cn=${cn},${GROUPS}`;
export const personDn = (uid: string) => `uid=${uid},${PEOPLE}`;

/** Each seeded person's password is their uid followed by this. */
export const PASSWORD_SUFFIX = '-Directory-Pass-1';

export interface SlapdServer {
  /** ldap://127.0.0.1:port (StartTLS offered). */
  ldapUrl: string;
  /** ldaps://127.0.0.1:port. */
  ldapsUrl: string;
  ca: string;
  otherCa: string;
  rootPassword: string;
  servicePassword: string;
  /** ldapmodify as the root DN, with LDIF on stdin. */
  modify(ldif: string): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** RSA keys: Debian's slapd may be built with GnuTLS, which is the pickiest about the rest. */
async function makeCertificates(dir: string): Promise<void> {
  for (const ca of ['ca', 'other-ca']) {
    await openssl(
      dir,
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${ca}-key.pem`,
      '-out',
      `${ca}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=keel ldap test ${ca}`,
    );
  }
  await openssl(
    dir,
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server-key.pem',
    '-out',
    'server.csr',
    '-subj',
    '/CN=localhost',
  );
  writeFileSync(
    path.join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  await openssl(
    dir,
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca-key.pem',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  );
}

function person(uid: string, name: string, extra = ''): string {
  return `dn: ${personDn(uid)}
objectClass: inetOrgPerson
uid: ${uid}
cn: ${name}
sn: ${name.split(' ').pop()}
mail: ${uid}@corp.keel.test
userPassword: ${uid}${PASSWORD_SUFFIX}
${extra}`;
}

function group(cn: string, members: string[]): string {
  return `dn: ${groupDn(cn)}
objectClass: groupOfNames
cn: ${cn}
${members.map((m) => `member: ${personDn(m)}`).join('\n')}
`;
}

/**
 * alice (admins), bob (developers), carol (developers, disabled: employeeType=disabled), dave
 * (developers; tests remove him), erin (no group), and `*` tricks have nobody to find.
 */
function seed(servicePassword: string): string {
  return [
    `dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Keel test\ndc: keel\n`,
    `dn: ou=system,${SUFFIX}\nobjectClass: organizationalUnit\nou: system\n`,
    `dn: ${SERVICE_DN}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: keel-search\nuserPassword: ${servicePassword}\n`,
    `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ${GROUPS}\nobjectClass: organizationalUnit\nou: groups\n`,
    person('alice', 'Alice Admin'),
    person('bob', 'Bob Builder'),
    person('carol', 'Carol Locked', 'employeeType: disabled\n'),
    person('dave', 'Dave Leaving'),
    person('erin', 'Erin Nogroup'),
    group('admins', ['alice']),
    group('developers', ['bob', 'carol', 'dave']),
  ].join('\n');
}

function config(dir: string, rootPassword: string): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile ${dir}/ca.pem
TLSCertificateFile ${dir}/server.pem
TLSCertificateKeyFile ${dir}/server-key.pem
database mdb
maxsize 10485760
suffix "${SUFFIX}"
rootdn "${ROOT_DN}"
rootpw ${rootPassword}
directory ${dir}/db
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="${SERVICE_DN}" read by self read by * none
`;
}

export async function startSlapd(): Promise<SlapdServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'keel-slapd-'));
  mkdirSync(path.join(dir, 'db'));
  const rootPassword = `root-${Math.random().toString(36).slice(2)}`;
  const servicePassword = `svc-${Math.random().toString(36).slice(2)}-Bind!`;
  await makeCertificates(dir);
  const conf = path.join(dir, 'slapd.conf');
  writeFileSync(conf, config(dir, rootPassword));
  writeFileSync(path.join(dir, 'seed.ldif'), seed(servicePassword));
  await run('/usr/sbin/slapadd', ['-f', conf, '-l', path.join(dir, 'seed.ldif')]);
  const [ldapPort, ldapsPort] = [await freePort(), await freePort()];
  const ldapUrl = `ldap://127.0.0.1:${ldapPort}`;
  const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
  // -d keeps slapd in the foreground (the harness owns its process group).
  const service: Spawned = spawnService(
    SLAPD_BIN,
    ['-d', '0', '-f', conf, '-h', `${ldapUrl}/ ${ldapsUrl}/`],
    process.env,
    dir,
  );
  await waitFor(
    'slapd',
    async () => {
      if (service.child.exitCode !== null) throw new Error(`slapd exited:\n${service.output()}`);
      const open = await new Promise<boolean>((resolve) => {
        const s = createConnection(ldapPort, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      return open ? true : undefined;
    },
    20_000,
  );
  return {
    ldapUrl,
    ldapsUrl,
    ca: readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    otherCa: readFileSync(path.join(dir, 'other-ca.pem'), 'utf8'),
    rootPassword,
    servicePassword,
    async modify(ldif) {
      const child = execFile('/usr/bin/ldapmodify', ['-x', '-H', ldapUrl, '-D', ROOT_DN, '-w', rootPassword]);
      const done = new Promise<void>((resolve, reject) => {
        let err = '';
        child.stderr?.on('data', (d) => {
          err += String(d);
        });
        child.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`ldapmodify failed (${code}): ${err}`)),
        );
      });
      child.stdin?.end(ldif);
      await done;
    },
    output: () => service.output(),
    async stop() {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
