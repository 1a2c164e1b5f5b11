/**
 * A Git host stand-in: a node HTTP server that demands Basic auth (one user name and token) in
 * front of the real `git http-backend` (CGI), serving private bare repositories over smart HTTP,
 * clone and push. It records every Authorization it was sent, so a test can say which
 * credentials reached the host and which never did.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GitHostStandin {
  /** `127.0.0.1:<port>`: the credential host. */
  host: string;
  /** The https-less URL of a repository (loopback http: a token may travel there). */
  url(repo: string): string;
  /** The bare repositories' folder. */
  root: string;
  /** Every Authorization header value the host was sent (decoded `user:token`), and `null` for none. */
  seen: Array<string | null>;
  /** Runs git on a bare repository (`git --git-dir <repo> …`), answering its stdout. */
  git(repo: string, ...args: string[]): string;
  close(): Promise<void>;
}

const GIT_ENV = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/tmp',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Stand-in',
  GIT_AUTHOR_EMAIL: 'standin@example.com',
  GIT_COMMITTER_NAME: 'Stand-in',
  GIT_COMMITTER_EMAIL: 'standin@example.com',
};

/** Starts the host with one private repository `private.git` (branch `main`, a README). */
export async function startGitHostStandin(login: {
  username: string;
  token: string;
}): Promise<GitHostStandin> {
  const root = mkdtempSync(join(tmpdir(), 'keel-git-host-standin-'));
  const run = (args: string[], cwd = root) =>
    execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' });
  const work = join(root, 'seed');
  run(['init', '-q', '-b', 'main', work]);
  execFileSync('sh', ['-c', 'echo "private readme" > README.md'], { cwd: work });
  run(['add', 'README.md'], work);
  run(['commit', '-q', '-m', 'first'], work);
  run(['clone', '-q', '--bare', work, join(root, 'private.git')]);
  rmSync(work, { recursive: true, force: true });
  const backend = join(run(['--exec-path']).trim(), 'git-http-backend');
  const expected = `${login.username}:${login.token}`;
  const seen: Array<string | null> = [];

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const header = req.headers.authorization;
    const decoded = header?.startsWith('Basic ')
      ? Buffer.from(header.slice(6), 'base64').toString('utf8')
      : null;
    seen.push(decoded);
    if (decoded !== expected) {
      req.resume();
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git host stand-in"' });
      res.end('authentication required\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://standin');
    const cgi = spawn(backend, [], {
      env: {
        ...GIT_ENV,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        REMOTE_USER: login.username,
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
        ...(req.headers['content-encoding']
          ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }
          : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    req.pipe(cgi.stdin);
    // CGI answer: headers up to a blank line (Status: sets the code), then the body as it comes.
    let head = Buffer.alloc(0);
    let headed = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headed) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headed = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', () => {
      if (!headed) res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    root,
    seen,
    url: (repo) => `http://${host}/${repo}`,
    git: (repo, ...args) => run(['--git-dir', join(root, repo), ...args]),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
