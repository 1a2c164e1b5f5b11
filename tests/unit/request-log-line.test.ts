/**
 * The request line is written out field by field (http/request-log.ts): it must stay one valid
 * JSON object whatever a client chose for the strings in it, with the fields JSON.stringify of
 * the entry gave, in that order, and without the ones a request did not have.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { logRequest, type RequestLogLine, sendRequestLogTo } from '../../edge/src/http/request-log.ts';

const lines: string[] = [];
sendRequestLogTo((line) => lines.push(line));
after(() => sendRequestLogTo(() => {}));

const logged = (entry: RequestLogLine) => {
  lines.length = 0;
  logRequest(entry);
  assert.equal(lines.length, 1);
  return lines[0]!;
};

test('a full entry: every field, in order, after level, msg and at', () => {
  const entry: RequestLogLine = {
    requestId: 'req_abc',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    parentSpanId: '00f067aa0ba902b8',
    method: 'GET',
    route: '/api/workspaces/:id',
    status: 200,
    ms: 1.25,
    userId: 'usr_x',
    organizationId: 'org_y',
    runnerId: 'rnr_z',
  };
  const line = logged(entry);
  const parsed = JSON.parse(line);
  assert.deepEqual(Object.keys(parsed), ['level', 'msg', 'at', ...Object.keys(entry)]);
  assert.deepEqual({ ...parsed, at: undefined }, { level: 'info', msg: 'request', at: undefined, ...entry });
  assert.ok(!Number.isNaN(Date.parse(parsed.at)));
});

test('absent fields are left out; strings a client chose cannot break the line', () => {
  const line = logged({
    requestId: 'a"b\\c\n',
    traceId: 't',
    spanId: 's',
    parentSpanId: undefined,
    method: 'G"ET\u2028',
    route: '/x/"}{',
    status: 404,
    ms: 0,
    userId: undefined,
    organizationId: undefined,
    runnerId: undefined,
  });
  assert.equal(line.includes('\n'), false);
  const parsed = JSON.parse(line);
  assert.equal(parsed.requestId, 'a"b\\c\n');
  assert.equal(parsed.method, 'G"ET\u2028');
  assert.equal(parsed.route, '/x/"}{');
  assert.deepEqual(Object.keys(parsed), [
    'level',
    'msg',
    'at',
    'requestId',
    'traceId',
    'spanId',
    'method',
    'route',
    'status',
    'ms',
  ]);
});

test('a time that is not a number is written as null, never as bare NaN', () => {
  assert.equal(
    JSON.parse(
      logged({
        requestId: 'r',
        traceId: 't',
        spanId: 's',
        method: 'GET',
        route: '/',
        status: 200,
        ms: Number.NaN,
      }),
    ).ms,
    null,
  );
});

test('each line has its own route, status and person, as the line before changes them', () => {
  const base: RequestLogLine = {
    requestId: 'r',
    traceId: 't',
    spanId: 's',
    method: 'GET',
    route: '/api/workspaces',
    status: 200,
    ms: 1,
    userId: 'usr_a',
    organizationId: 'org_a',
  };
  const entries: RequestLogLine[] = [
    base,
    { ...base, requestId: 'r2' },
    { ...base, status: 404 },
    { ...base, method: 'POST' },
    { ...base, route: '/api/workspaces/:id' },
    { ...base, userId: 'usr_b' },
    { ...base, organizationId: undefined },
    { ...base, userId: undefined, organizationId: undefined, runnerId: 'rnr_c' },
    base,
  ];
  for (const entry of entries) {
    const parsed = JSON.parse(logged(entry));
    const expected = Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined));
    assert.deepEqual(
      { ...parsed, level: undefined, msg: undefined, at: undefined },
      {
        level: undefined,
        msg: undefined,
        at: undefined,
        ...expected,
      },
    );
  }
});
