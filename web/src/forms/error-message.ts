import { describeError } from './describe-error.ts';

/** One sentence for a failure outside a form (a toolbar action, a panel that could not load). */
export function errorMessage(error: unknown): string {
  const described = describeError(error, []);
  return described.reference === undefined
    ? described.message
    : `${described.message} (reference ${described.reference})`;
}
