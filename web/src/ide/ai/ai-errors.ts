import type { AiDone } from '@keel/contract/ai';
import { ApiError } from '../../api/api-error.ts';
import { errorMessage } from '../../forms/error-message.ts';
import { StreamLost } from './ai-call.ts';

/** Whether a failure means no model is set up, as opposed to one that failed this time. */
export function isNotConfigured(error: unknown): boolean {
  return error instanceof ApiError && error.code === 'ai_not_configured';
}

/** One sentence for a call that could not start or whose answer could not be read. */
export function describeAiFailure(error: unknown): string {
  if (error instanceof StreamLost) return error.message;
  if (error instanceof ApiError) {
    if (error.status === 404 && error.code === 'not_found')
      return 'The answer is no longer available on the server. Ask again.';
    return errorMessage(error);
  }
  if (error instanceof Error && /gave up/.test(error.message))
    return 'The connection kept failing, so the answer stopped. Check your connection and ask again.';
  return errorMessage(error);
}

/** What a failed `done` says; its message is written for people by the server. */
export function describeDoneFailure(done: AiDone): string {
  return done.error?.message ?? 'The model call failed.';
}
