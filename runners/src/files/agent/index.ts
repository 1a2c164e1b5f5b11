import type { ExecHandle, ExecRequest } from '../../workloads/types.ts';
import type { WorkspaceFiles } from '../workspace-files.ts';

/**
 * The workspace's files through an agent that runs inside it (remote drivers): `run` starts a
 * command in the workspace with `stdin: true`; the agent is started on first use and again
 * after it died. `close` ends it.
 */
export function agentFiles(
  _run: (req: ExecRequest) => ExecHandle,
): WorkspaceFiles & { close(): Promise<void> } {
  throw new Error('agentFiles: not written yet');
}
