import type { AiDone } from '@keel/contract/ai';
import type { AiFailureCode } from '@keel/contract/ai-jobs';
import { ApiError } from '../../api/api-error.ts';
import { StreamEnded } from '../../api/resumable-event-stream.ts';
import { errorMessage } from '../../forms/error-message.ts';
import { StreamLost } from './ai-call.ts';

/** Whether a failure means no model is set up, as opposed to one that failed this time. */
export function isNotConfigured(error: unknown): boolean {
  return error instanceof ApiError && error.code === 'ai_not_configured';
}

/** One sentence for a call that could not start or whose answer could not be read. */
export function describeAiFailure(error: unknown): string {
  if (error instanceof StreamLost) return error.message;
  if (error instanceof StreamEnded)
    return 'The answer ended on the server, but its last part did not arrive. Ask again if it looks incomplete.';
  if (error instanceof ApiError) {
    if (error.status === 404 && error.code === 'not_found')
      return 'The answer is no longer available on the server. Ask again.';
    return errorMessage(error);
  }
  if (error instanceof Error && /gave up/.test(error.message))
    return 'The connection kept failing, so the answer stopped. Check your connection and ask again.';
  return errorMessage(error);
}

/**
 * What to do next, for the failures whose message does not say. The runner's messages (fixed text, see
 * `AiFailureCode`) say what went wrong, not whether asking again may help.
 */
const NEXT_STEP: Partial<Record<AiFailureCode, string>> = {
  model_unavailable: 'Try again in a moment; if it keeps failing, ask an admin to check the model server.',
  model_timeout: 'The model server may be busy: try again, or select less code.',
  model_error: 'Try again; if it keeps failing, ask an admin to check the model server.',
  workspace_not_running: 'Start the workspace, then ask again.',
  internal: 'Try again.',
};

/**
 * What a failed `done` says, as a sentence. The runner writes its messages as lower-case clauses for logs
 * and clients alike ("model server answered 500: the model server failed"), so they are capitalised and
 * closed here, with the next step added where the message leaves it out.
 */
export function describeDoneFailure(done: AiDone): string {
  const message = done.error?.message.trim() ?? '';
  const said = message === '' ? 'The model call failed.' : asSentence(message);
  const next = NEXT_STEP[done.error?.code as AiFailureCode];
  return next === undefined || /\bagain\b/i.test(said) ? said : `${said} ${next}`;
}

function asSentence(text: string): string {
  const capitalised = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}
