import { accessSync, constants, existsSync, lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/** Finds an executable on PATH (or checks an explicit path); undefined when absent. */
export function findExecutable(name: string): string | undefined {
  const candidates = name.includes('/')
    ? [name]
    : (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').map((d) => path.join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {}
  }
  return undefined;
}

/** Top-level directories that hold executables and libraries on the host. */
const SYSTEM_DIRS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** Read-only pieces of the host's /etc that programs need (dynamic linker, TLS roots, alternatives). */
const HOST_ETC = [
  'alternatives',
  'ssl',
  'ca-certificates',
  'ca-certificates.conf',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'localtime',
  'nsswitch.conf',
  'hosts',
  'gitconfig',
  'bash.bashrc',
  'profile',
];

/** The host's /usr read-only, and /bin, /lib... as the host has them. */
export function systemArgs(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const dir of SYSTEM_DIRS) {
    const host = `/${dir}`;
    const st = lstatOrUndefined(host);
    if (!st) continue;
    // merged-/usr hosts: recreate the symlinks instead of binding through them.
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(host), host);
    else if (st.isDirectory()) args.push('--ro-bind', host, host);
  }
  return args;
}

export interface SandboxArgs {
  workspaceDir: string;
  /** Generated passwd/group for the sandbox user. */
  passwdFile: string;
  groupFile: string;
  /**
   * true: keep the network namespace bubblewrap starts in, which the runner made for the
   * workspace (see workspace-network.ts); false: a new one with only loopback.
   */
  network: boolean;
  /** With network: the resolv.conf that names the workspace network's resolver. */
  resolvConf?: string;
  /** An open descriptor, in bubblewrap, of the seccomp program to load (see seccomp.ts). */
  seccompFd?: number;
  cwd: string;
  env: Record<string, string>;
  /**
   * false keeps the caller's session, so a shell on a pty keeps it as its controlling terminal (job
   * control, Ctrl-C). A new session is what keeps a command from injecting input into a terminal it
   * shares with others (TIOCSTI); a pty opened for one sandbox is shared with no one.
   */
  newSession?: boolean;
  /** Host folders bound read-only inside (ExecRequest.readOnlyBinds). */
  readOnlyBinds?: Array<{ host: string; at: string }>;
  /** Host folders bound writable inside (the command host's FIFO folder). */
  writableBinds?: Array<{ host: string; at: string }>;
}

/**
 * Namespaces for every sandbox: all of them new (the PID namespace is what makes killing an
 * exec's tree reliable: when its init dies the kernel kills the rest), and no further user
 * namespace may be made inside (nested ones reach kernel code unprivileged users otherwise cannot).
 */
export const NAMESPACE_ARGS = ['--unshare-all', '--unshare-user', '--disable-userns'];

/**
 * bubblewrap arguments: fresh namespaces, the seccomp filter, the host's /usr read-only, a
 * private /tmp and home, and only the workspace writable.
 */
export function sandboxArgs(a: SandboxArgs): string[] {
  const args = [...NAMESPACE_ARGS];
  if (a.network) args.push('--share-net');
  if (a.seccompFd !== undefined) args.push('--seccomp', String(a.seccompFd));
  args.push('--die-with-parent');
  if (a.newSession !== false) args.push('--new-session');
  args.push('--hostname', 'keel', ...systemArgs());
  for (const name of HOST_ETC) {
    const host = `/etc/${name}`;
    if (existsSync(host)) args.push('--ro-bind', host, host);
  }
  if (a.network && a.resolvConf) args.push('--ro-bind', a.resolvConf, '/etc/resolv.conf');
  args.push(
    '--ro-bind',
    a.passwdFile,
    '/etc/passwd',
    '--ro-bind',
    a.groupFile,
    '/etc/group',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--tmpfs',
    '/home/keel',
    ...(a.readOnlyBinds ?? []).flatMap((b) => ['--ro-bind', b.host, b.at]),
    ...(a.writableBinds ?? []).flatMap((b) => ['--bind', b.host, b.at]),
    '--bind',
    a.workspaceDir,
    '/workspace',
    '--chdir',
    a.cwd,
    '--clearenv',
  );
  for (const [k, v] of Object.entries(sandboxEnv(a.env))) args.push('--setenv', k, v);
  return args;
}

/** A sandboxed command's whole environment: the sandbox user's basics, then the request's. */
export function sandboxEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/home/keel',
    USER: 'keel',
    LOGNAME: 'keel',
    LANG: 'C.UTF-8',
    ...env,
  };
}

function lstatOrUndefined(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}
