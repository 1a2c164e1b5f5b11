import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildDirectoryRequest, type DirectoryForm, emptyDirectoryForm } from './sign-in-form.ts';

const filled = (over: Partial<DirectoryForm> = {}): DirectoryForm => ({
  ...emptyDirectoryForm(),
  name: 'Corp directory',
  slug: 'corp',
  url: 'ldap://ldap.corp.example:389',
  transport: 'starttls',
  bindDn: 'cn=keel,ou=system,dc=corp',
  bindPassword: 'secret',
  userSearchBase: 'ou=people,dc=corp',
  groupSearchBase: 'ou=groups,dc=corp',
  groupRoles: [
    { group: 'cn=admins,ou=groups,dc=corp', role: 'admin' },
    { group: '  ', role: 'viewer' },
  ],
  ...over,
});

describe('directory form', () => {
  test('becomes the contract’s request: StartTLS, group rows without blanks, no password on edit', () => {
    const built = buildDirectoryRequest(filled());
    assert.equal(built.ok, true);
    if (!built.ok || built.request.kind !== 'ldap') return;
    assert.equal(built.request.config.startTls, true);
    assert.deepEqual(built.request.config.groupRoleMap, [
      { group: 'cn=admins,ou=groups,dc=corp', role: 'admin' },
    ]);
    const edit = buildDirectoryRequest(filled({ id: 'idp_aaaaaaaaaaaaaaaaaaaa', bindPassword: '' }));
    assert.equal(edit.ok && 'bindPassword' in edit.request.config, false);
  });

  test('plain ldap:// without StartTLS is refused unless marked insecure; a filter without {{username}} too', () => {
    const plain = buildDirectoryRequest(filled({ transport: 'ldaps' }));
    assert.equal(plain.ok, false);
    const insecure = buildDirectoryRequest(filled({ transport: 'insecure' }));
    assert.equal(insecure.ok, true);
    const noPlaceholder = buildDirectoryRequest(filled({ userFilter: '(uid=alice)' }));
    assert.equal(noPlaceholder.ok, false);
    assert.ok(!noPlaceholder.ok && noPlaceholder.fields.userFilter);
  });
});
