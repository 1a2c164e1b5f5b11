import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeDoneFailure } from './ai-errors.ts';

const failed = (code: string, message: string) => ({ outcome: 'failure' as const, error: { code, message } });

describe('describeDoneFailure', () => {
  test('the runner’s lower-case clauses become sentences, with the next step where they lack one', () => {
    // Messages exactly as runners/src/ai/errors.ts and jobs.ts write them.
    assert.equal(
      describeDoneFailure(failed('model_error', 'model server answered 500: the model server failed')),
      'Model server answered 500: the model server failed. Try again; if it keeps failing, ask an admin to check the model server.',
    );
    assert.equal(
      describeDoneFailure(failed('model_timeout', 'the model sent no token within 30000 ms')),
      'The model sent no token within 30000 ms. The model server may be busy: try again, or select less code.',
    );
    assert.equal(
      describeDoneFailure(failed('not_found', 'no such file in the workspace')),
      'No such file in the workspace.',
    );
  });

  test('a message that already says to ask again is not told twice', () => {
    assert.equal(
      describeDoneFailure(failed('runner_offline', 'the runner went offline during the call; ask again')),
      'The runner went offline during the call; ask again.',
    );
    assert.equal(
      describeDoneFailure(failed('internal', 'part of the answer could not be stored; ask again')),
      'Part of the answer could not be stored; ask again.',
    );
  });

  test('a failure without a message still reads as one', () => {
    assert.equal(describeDoneFailure({ outcome: 'failure' }), 'The model call failed.');
    assert.equal(describeDoneFailure(failed('internal', '  ')), 'The model call failed. Try again.');
  });
});
