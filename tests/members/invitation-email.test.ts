/*
 * Invitation e-mail through a real SMTP server (the smtp-server package) started here: single
 * and bulk invitations arrive with the sign-up link on KEEL_PUBLIC_URL, a refused recipient is
 * reported per address, and the link from the mail signs the invitee up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { auditEvents } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { SMTPServer } from 'smtp-server';
import { BrowserClient } from '../harness/browser-client.ts';
import { freePort } from '../harness/ports.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

describe('invitation e-mail (SMTP)', () => {
  let t: TestApp;
  let smtp: SMTPServer;
  let admin: BrowserClient;
  let orgId: string;
  const inbox: Received[] = [];

  before(async () => {
    const port = await freePort();
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onRcptTo(address, _session, callback) {
        // An address the server refuses, as a real one refuses an unknown mailbox.
        if (address.address.startsWith('bounce@')) callback(new Error('550 No such mailbox'));
        else callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          inbox.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(port, '127.0.0.1', resolve));
    t = await createTestApp({
      database: 'postgres',
      env: {
        KEEL_SMTP_URL: `smtp://127.0.0.1:${port}`,
        KEEL_SMTP_FROM: 'Keel <keel@acme.example>',
        KEEL_PUBLIC_URL: 'https://keel.acme.example/',
      },
    });
    admin = new BrowserClient(t.fetch);
    const signup = await admin.request('POST', '/api/auth/signup', {
      email: 'ann@acme.example',
      password: PASSWORD,
      name: 'Ann',
      organization: 'Acme',
    });
    orgId = signup.body.organization.id;
  });
  after(async () => {
    await t.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  /** The link as the mail carries it (quoted-printable may fold long lines with a soft break). */
  function linkIn(raw: string): string {
    const text = raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const m = /https:\/\/keel\.acme\.example\/sign-up\?invite=[A-Za-z0-9_-]+/.exec(text);
    assert.ok(m, raw);
    return m[0];
  }

  test('one invitation arrives with its link, and the link signs the invitee up', async () => {
    const res = await admin.request(
      'POST',
      `/api/orgs/${orgId}/invitations`,
      { email: 'bob@acme.example', role: 'developer' },
      { bearer: true },
    );
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.delivery.status, 'sent');
    assert.equal(res.body.link, `https://keel.acme.example/sign-up?invite=${res.body.token}`);
    const mail = inbox.find((m) => m.to.includes('bob@acme.example'));
    assert.ok(mail);
    assert.equal(mail.from, 'keel@acme.example');
    assert.match(mail.raw, /Subject: Ann invited you to Acme on Keel/);
    const link = linkIn(mail.raw);
    assert.equal(link, res.body.link);
    const bob = await new BrowserClient(t.fetch).request('POST', '/api/auth/signup', {
      email: 'bob@acme.example',
      password: PASSWORD,
      name: 'Bob',
      inviteToken: new URL(link).searchParams.get('invite'),
    });
    assert.equal(bob.status, 201, JSON.stringify(bob.body));
    const sent = await t.services.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.action, 'invitation.email'));
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.outcome, 'success');
  });

  test('bulk: each address gets its own mail; a refused one is reported, the others still go', async () => {
    inbox.length = 0;
    const res = await admin.request(
      'POST',
      `/api/orgs/${orgId}/invitations/bulk`,
      { emails: ['c1@acme.example', 'bounce@acme.example', 'c2@acme.example', 'bob@acme.example'] },
      { bearer: true },
    );
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const byEmail = Object.fromEntries(
      res.body.invited.map((i: { email: string; delivery: { status: string } }) => [
        i.email,
        i.delivery.status,
      ]),
    );
    assert.deepEqual(byEmail, {
      'c1@acme.example': 'sent',
      'bounce@acme.example': 'failed',
      'c2@acme.example': 'sent',
    });
    assert.deepEqual(
      res.body.skipped.map((s: { reason: string }) => s.reason),
      ['member'],
    );
    assert.deepEqual(inbox.map((m) => m.to[0]).sort(), ['c1@acme.example', 'c2@acme.example']);
    for (const mail of inbox) {
      const invited = res.body.invited.find((i: { email: string }) => i.email === mail.to[0]);
      assert.equal(linkIn(mail.raw), invited.link);
    }
    const failed = res.body.invited.find((i: { email: string }) => i.email === 'bounce@acme.example');
    assert.match(failed.delivery.message, /550|mailbox/i);
  });
});
