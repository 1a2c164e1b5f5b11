import { ApiError } from '../api/api-error.ts';

/** What a form shows for a failed submission: one summary and, where the server named them, per-field messages. */
export interface FormError {
  message: string;
  fields: Partial<Record<string, string>>;
  /** The request id, shown for server-side failures so a person can quote it to an admin. */
  reference?: string;
}

const UNREACHABLE = 'Could not reach Keel. Check your connection and try again.';

/**
 * Turns any rejection from a form action into words for people. `fieldNames` are the form's inputs, so
 * that validation issues land under the field they concern and anything else stays in the summary.
 */
export function describeError(error: unknown, fieldNames: readonly string[]): FormError {
  if (!(error instanceof ApiError))
    return { message: 'Something unexpected went wrong. Try again.', fields: {} };

  switch (error.code) {
    case 'network_error':
      return { message: UNREACHABLE, fields: {} };
    case 'timeout':
      return { message: 'Keel took too long to answer. Try again in a moment.', fields: {} };
    case 'invalid_credentials':
      return { message: 'Email or password is incorrect.', fields: {} };
    case 'invitation_required':
      return {
        message: 'This Keel already has an organization: ask an admin for an invitation link.',
        fields: {},
      };
    case 'invitation_invalid':
      return {
        message:
          'This invitation link is not valid any more (expired or already used): ask an admin for a new one.',
        fields: {},
      };
    case 'email_taken':
      return {
        message: 'An account with this email already exists. Sign in instead, or use another email.',
        fields: { email: 'This email is already registered.' },
      };
    case 'rate_limited':
      // A plan's quota (workspaces or commands at once, AI tokens a day) says what to do in its own words.
      return {
        message: /\bplan\b/.test(error.message)
          ? sentence(error.message)
          : tooManyAttempts(error.retryAfterSeconds),
        fields: {},
      };
    case 'csrf_failed':
      return { message: 'Your session’s security check failed. Reload the page and try again.', fields: {} };
    case 'validation_failed':
    case 'invalid_json':
      return describeValidation(error, fieldNames);
    case 'workspace_not_running':
      return { message: 'The workspace is not running. Start it, then try again.', fields: {} };
    case 'not_ready':
      return { message: 'Keel is starting up or under maintenance. Try again in a moment.', fields: {} };
    case 'internal_error':
    case 'unexpected_response':
      return withReference(
        { message: 'Something went wrong on Keel’s side. Try again in a moment.', fields: {} },
        error,
      );
    default:
      return withReference({ message: sentence(error.message), fields: {} }, error);
  }
}

function describeValidation(error: ApiError, fieldNames: readonly string[]): FormError {
  const fields: Partial<Record<string, string>> = {};
  const unplaced: string[] = [];
  for (const issue of error.issues) {
    // Issue paths are dotted (`email`, `profile.name`); a form field owns the issues under its name.
    const field = issue.path.split('.')[0] ?? '';
    if (fieldNames.includes(field)) {
      fields[field] =
        fields[field] === undefined ? sentence(issue.message) : `${fields[field]} ${sentence(issue.message)}`;
    } else {
      unplaced.push(issue.path === '' ? sentence(issue.message) : `${issue.path}: ${issue.message}`);
    }
  }
  const placed = Object.keys(fields).length > 0;
  const summary = placed ? 'Check the highlighted fields.' : sentence(error.message);
  return { message: [summary, ...unplaced].join(' '), fields };
}

function tooManyAttempts(retryAfterSeconds: number | undefined): string {
  if (retryAfterSeconds === undefined || retryAfterSeconds <= 0)
    return 'Too many attempts. Wait a minute and try again.';
  if (retryAfterSeconds < 90) return `Too many attempts. Try again in ${retryAfterSeconds} seconds.`;
  return `Too many attempts. Try again in ${Math.ceil(retryAfterSeconds / 60)} minutes.`;
}

function withReference(formError: FormError, error: ApiError): FormError {
  return error.requestId === undefined ? formError : { ...formError, reference: error.requestId };
}

/** Server messages are terse fragments ("must be at least 10 characters"); show them as sentences. */
function sentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return trimmed;
  const capitalised = trimmed[0]!.toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}
