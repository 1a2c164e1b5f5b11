import type { LspLanguage } from '@keel/contract/lsp';
import type { ExecHandle, ExecRequest, WorkloadDriver } from '../workloads/types.ts';
import { hostServerPackages, SERVER_PROGRAMS, SERVERS_NODE_MODULES } from './server-packages.ts';

/**
 * The command that runs a language server inside the workspace, through the driver's `exec`:
 * the same user, sandbox, limits and network as the workspace's commands. The process driver binds
 * the runner's own copies of the servers read-only at the image's path; when the runner has none,
 * the workspace's node_modules are tried (`npm i -D typescript-language-server`). Go's gopls only
 * runs where the workspace has it on PATH.
 */
export function serverRequest(driver: WorkloadDriver, language: LspLanguage): ExecRequest {
  // No NODE_OPTIONS from the image or a profile: a preload has no place in the server.
  const env = { NODE_OPTIONS: '', TSS_LOG: '' };
  if (language === 'go') {
    return {
      argv: [
        '/bin/sh',
        '-c',
        'command -v gopls >/dev/null || { echo "gopls is not on PATH" >&2; exit 127; }; exec gopls serve',
      ],
      cwd: '/workspace',
      env,
      stdin: true,
    };
  }
  const program = SERVER_PROGRAMS[language];
  const shipped = `${SERVERS_NODE_MODULES}/${program.pkg}/${program.script}`;
  const own = `/workspace/node_modules/${program.pkg}/${program.script}`;
  let readOnlyBinds: ExecRequest['readOnlyBinds'];
  if (driver.kind === 'process') {
    const host = hostServerPackages();
    if (host)
      readOnlyBinds = [...host].map(([name, dir]) => ({ host: dir, at: `${SERVERS_NODE_MODULES}/${name}` }));
  }
  // The shipped copy when there is one, else the workspace's own (resolved inside the workspace).
  const script = `if [ -f "$1" ]; then s="$1"; elif [ -f "$2" ]; then s="$2"; else echo "no ${program.command} in this workspace" >&2; exit 127; fi; shift 2; exec node "$s" "$@"`;
  return {
    argv: ['/bin/sh', '-c', script, 'keel-lsp', shipped, own, ...program.args],
    cwd: '/workspace',
    env,
    stdin: true,
    ...(readOnlyBinds ? { readOnlyBinds } : {}),
  };
}

export function startServerProcess(
  driver: WorkloadDriver,
  workspaceId: string,
  language: LspLanguage,
): ExecHandle {
  return driver.exec(workspaceId, serverRequest(driver, language));
}
