import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkResponse, routeOf } from '../harness/response-check.ts';

const WS = 'wsp_aaaaaaaaaaaaaaaaaaaa';
const error = { error: { code: 'not_found', message: 'No such workspace', requestId: 'req_1' } };

describe('answers checked against their route descriptions', () => {
  test('a literal segment wins over a parameter', () => {
    assert.equal(routeOf('GET', '/api/workspaces/policy')?.path, '/api/workspaces/policy');
    assert.equal(routeOf('GET', `/api/workspaces/${WS}?x=1`)?.path, '/api/workspaces/{id}');
    assert.equal(routeOf('GET', '/nowhere'), undefined);
  });

  test('a body that fits its schema passes; one that does not is refused', () => {
    checkResponse('GET', `/api/workspaces/${WS}/logs`, 200, { lines: [] });
    assert.throws(
      () => checkResponse('GET', `/api/workspaces/${WS}/logs`, 200, { lines: 'none' }),
      /schema refuses/,
    );
  });

  test('a status the route does not describe is refused', () => {
    assert.throws(
      () => checkResponse('GET', `/api/workspaces/${WS}/logs`, 201, { lines: [] }),
      /does not describe/,
    );
  });

  test('errors carry the one error body', () => {
    checkResponse('GET', `/api/workspaces/${WS}`, 404, error);
    assert.throws(
      () => checkResponse('GET', `/api/workspaces/${WS}`, 404, { message: 'gone' }),
      /error body/,
    );
  });
});
