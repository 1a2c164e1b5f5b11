import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuditExportQuery, AuditListQuery } from '@keel/contract/audit';
import { createApiClient } from '../api/client.ts';
import { createFakeFetch, json } from '../testing/fake-fetch.ts';
import { createFakeTimers } from '../testing/fake-timers.ts';
import { createAuditApi } from './audit-api.ts';
import {
  auditQueryString,
  buildAuditQuery,
  describeVerdict,
  EMPTY_AUDIT_FILTERS,
  isFiltered,
} from './audit-filters.ts';

const form = (over: Partial<typeof EMPTY_AUDIT_FILTERS>) => ({ ...EMPTY_AUDIT_FILTERS, ...over });
// A fixed zone for datetime-local values: the tests must not depend on the machine's.
const utc = (value: string) => {
  const at = new Date(`${value}Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
};

describe('audit filters → the API’s query', () => {
  test('an empty form asks for everything', () => {
    assert.deepEqual(buildAuditQuery(EMPTY_AUDIT_FILTERS), { ok: true, query: {} });
    assert.equal(auditQueryString({}), '');
    assert.equal(isFiltered({}), false);
  });

  test('an action is exact; a trailing . or * makes it a prefix', () => {
    assert.deepEqual(buildAuditQuery(form({ action: ' Invitation.Create ' })), {
      ok: true,
      query: { action: 'invitation.create' },
    });
    assert.deepEqual(buildAuditQuery(form({ action: 'invitation.' })), {
      ok: true,
      query: { actionPrefix: 'invitation.' },
    });
    assert.deepEqual(buildAuditQuery(form({ action: 'runner_*' })), {
      ok: true,
      query: { actionPrefix: 'runner_' },
    });
    for (const bad of ['*', 'a b', 'drop%', 'x'.repeat(101)]) {
      const built = buildAuditQuery(form({ action: bad }));
      assert.equal(built.ok, false, bad);
      assert.equal(!built.ok && built.field, 'action');
    }
  });

  test('ids, outcome and a time range, checked as the API checks them', () => {
    const built = buildAuditQuery(
      form({
        actorId: 'usr_abc',
        workspaceId: 'ws_xyz',
        outcome: 'denied',
        from: '2031-03-01T10:00',
        to: '2031-03-02T10:00',
      }),
      utc,
    );
    assert.deepEqual(built, {
      ok: true,
      query: {
        actorId: 'usr_abc',
        workspaceId: 'ws_xyz',
        outcome: 'denied',
        from: '2031-03-01T10:00:00.000Z',
        to: '2031-03-02T10:00:00.000Z',
      },
    });
    assert.ok(built.ok && isFiltered(built.query));
    // What the form builds, the API's own schemas accept.
    assert.ok(built.ok && AuditListQuery.safeParse(built.query).success);
    assert.ok(built.ok && AuditExportQuery.safeParse({ ...built.query, format: 'csv' }).success);

    assert.deepEqual(buildAuditQuery(form({ actorId: 'ann@example.com' })).ok, false);
    assert.deepEqual(buildAuditQuery(form({ outcome: 'maybe' })).ok, false);
    assert.deepEqual(buildAuditQuery(form({ from: 'yesterday' }), utc).ok, false);
    const backwards = buildAuditQuery(form({ from: '2031-03-02T10:00', to: '2031-03-01T10:00' }), utc);
    assert.equal(!backwards.ok && backwards.field, 'to');
  });

  test('the query string is encoded and leaves out what is unset', () => {
    assert.equal(
      auditQueryString({ actionPrefix: 'auth.', from: '2031-03-01T10:00:00.000Z' }, { format: 'csv' }),
      '?actionPrefix=auth.&from=2031-03-01T10%3A00%3A00.000Z&format=csv',
    );
  });

  test('the verdict in a sentence', () => {
    assert.match(describeVerdict({ ok: true, checked: 12 }), /intact: 12 entries/);
    assert.match(describeVerdict({ ok: false, checked: 4, firstBadSeq: 5 }), /breaks at entry #5/);
  });
});

describe('the audit API module', () => {
  test('lists with the filters and cursor, and exports through the client with the token', async () => {
    const { fetch, calls } = createFakeFetch(
      json(200, { events: [], nextCursor: null }),
      () =>
        new Response('seq,at\r\n', {
          status: 200,
          headers: {
            'content-type': 'text/csv; charset=utf-8',
            'content-disposition': 'attachment; filename="keel-audit-20310301T100000Z.csv"',
            'x-next-cursor': '42',
          },
        }),
    );
    const client = createApiClient({ fetch, readCookie: () => undefined, timers: createFakeTimers().timers });
    client.useGrant({ accessToken: 'tok', csrfToken: 'c', expiresIn: 900 });
    const api = createAuditApi(client);
    await api.list({ actionPrefix: 'auth.' }, { limit: 50, cursor: '99' });
    const file = await api.export({ outcome: 'failure' }, 'csv');
    assert.equal(calls[0]!.path, '/api/admin/audit?actionPrefix=auth.&limit=50&cursor=99');
    assert.equal(calls[1]!.path, '/api/admin/audit/export?outcome=failure&format=csv');
    assert.equal(calls[1]!.headers.get('authorization'), 'Bearer tok');
    assert.equal(file.filename, 'keel-audit-20310301T100000Z.csv');
    assert.equal(file.nextCursor, '42');
    assert.equal(await file.blob.text(), 'seq,at\r\n');
    client.dispose();
  });
});
