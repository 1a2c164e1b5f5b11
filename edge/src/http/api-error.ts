import { type ErrorCode, type ErrorIssue, errorStatus } from '@keel/contract/errors';

/** What handlers throw; `onError` turns it into the one error body. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: ErrorIssue[],
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = errorStatus[code];
  }
}
