import type { ExitEvent } from '@keel/contract/workspaces';
import type { ExecuteInput, ExecutionsApi } from './executions-api.ts';
import { followExecution } from './follow-execution.ts';

export interface CommandResult {
  exit: ExitEvent;
  stdout: string;
  stderr: string;
}

/** Runs a short command in a workspace and waits for it to end, collecting its output. */
export async function runToExit(
  executions: ExecutionsApi,
  workspaceId: string,
  input: ExecuteInput,
): Promise<CommandResult> {
  const executionId = await executions.execute(workspaceId, input);
  let stdout = '';
  let stderr = '';
  let exit: ExitEvent | undefined;
  let failure: unknown;
  const follower = followExecution(
    { open: (lastEventId, signal) => executions.openEvents(workspaceId, executionId, lastEventId, signal) },
    {
      onOutput(stream, text) {
        if (stream === 'stdout') stdout += text;
        else stderr += text;
      },
      onExit(event) {
        exit = event;
      },
      onFailure(error) {
        failure = error;
      },
    },
  );
  await follower.done;
  if (exit === undefined) throw failure ?? new Error('The command ended without an exit status');
  return { exit, stdout, stderr };
}

/** Like `runToExit`, but a non-zero exit rejects with what the command printed on stderr. */
export async function runChecked(
  executions: ExecutionsApi,
  workspaceId: string,
  input: ExecuteInput,
): Promise<CommandResult> {
  const result = await runToExit(executions, workspaceId, input);
  if (result.exit.exitCode !== 0) {
    const detail =
      result.stderr.trim() || result.exit.error || `exit status ${result.exit.exitCode ?? 'unknown'}`;
    throw new Error(detail);
  }
  return result;
}
