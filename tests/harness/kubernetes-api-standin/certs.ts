import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pki {
  /** The CA that signs the server's and the clients' certificates. */
  ca: string;
  serverCert: string;
  serverKey: string;
  /** Issues a client certificate for `user` (CN) in `groups` (O), as kube-apiserver reads them. */
  clientCert(user: string, groups?: string[]): Promise<{ cert: string; key: string }>;
  /** A CA that signed nothing here: a client trusting it must refuse the server. */
  otherCa(): Promise<string>;
  dispose(): Promise<void>;
}

/** A throwaway PKI made with openssl, like a cluster's own CA (EC P-256 keys: fast to make). */
export async function makePki(): Promise<Pki> {
  const dir = await mkdtemp(path.join(tmpdir(), 'keel-k8s-standin-pki-'));
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  let serial = 1;

  const newCa = async (name: string, cn: string) => {
    await openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f(`${name}.key`));
    await openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      f(`${name}.key`),
      '-sha256',
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      f(`${name}.crt`),
    );
    return readFile(f(`${name}.crt`), 'utf8');
  };

  const issue = async (name: string, subject: string, ext: string) => {
    await openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f(`${name}.ec.key`));
    // PKCS#8, as kubeadm writes keys and every TLS stack reads them.
    await openssl('pkcs8', '-topk8', '-nocrypt', '-in', f(`${name}.ec.key`), '-out', f(`${name}.key`));
    await openssl('req', '-new', '-key', f(`${name}.key`), '-subj', subject, '-out', f(`${name}.csr`));
    await writeFile(f(`${name}.ext`), ext);
    await openssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-set_serial',
      String(serial++),
      '-days',
      '2',
      '-sha256',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.crt`),
    );
    return { cert: await readFile(f(`${name}.crt`), 'utf8'), key: await readFile(f(`${name}.key`), 'utf8') };
  };

  const ca = await newCa('ca', 'kubernetes-api-standin-ca');
  const server = await issue(
    'apiserver',
    '/CN=kube-apiserver',
    'subjectAltName=DNS:localhost,DNS:kubernetes.default.svc,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n',
  );
  let clients = 0;
  return {
    ca,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: (user, groups = []) => {
      const subject = `/${groups.map((g) => `O=${g}/`).join('')}CN=${user}`;
      return issue(
        `client-${clients++}`,
        subject,
        'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n',
      );
    },
    otherCa: () => newCa(`other-${clients++}`, 'unrelated-ca'),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
