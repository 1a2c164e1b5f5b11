import { type Role, roleRank } from '@keel/contract/auth';
import type { Member } from '@keel/contract/members';
import { createSignal, For, Match, onMount, Show, Switch } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { Button } from '../components/button.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { relativeTime } from '../format/relative-time.ts';
import { errorMessage } from '../forms/error-message.ts';
import { useSession } from '../session/session-context.ts';
import { ROLE_LABELS } from './members-api.ts';

const ROLES: Role[] = ['viewer', 'developer', 'admin', 'super_admin'];
const SOURCE_LABELS: Record<Member['source'], string> = {
  password: 'Password',
  oidc: 'Single sign-on',
  github: 'GitHub',
  ldap: 'Directory',
};

/** Admin › Members: who is in the organization, their role, and disabling or removing them. */
export default function MembersPage() {
  usePageTitle('Members');
  const apis = useApis();
  const session = useSession();
  const me = () => {
    const s = session.state();
    return s.status === 'signedIn' ? s : undefined;
  };
  const myRank = () => roleRank[me()?.role ?? 'viewer'];
  const [members, setMembers] = createSignal<Member[]>();
  const [next, setNext] = createSignal<string | null>(null);
  const [loadError, setLoadError] = createSignal<unknown>();
  const [actionError, setActionError] = createSignal<string>();
  const [announcement, setAnnouncement] = createSignal('');
  const [query, setQuery] = createSignal('');
  const [roleFilter, setRoleFilter] = createSignal<Role | ''>('');
  const [busy, setBusy] = createSignal<string>();
  const [removing, setRemoving] = createSignal<Member>();

  async function load(more = false) {
    setLoadError(undefined);
    try {
      const page = await apis.members.list({
        q: query().trim() || undefined,
        role: roleFilter() || undefined,
        cursor: more ? (next() ?? undefined) : undefined,
      });
      setMembers(more ? [...(members() ?? []), ...page.members] : page.members);
      setNext(page.next);
    } catch (error) {
      setLoadError(error);
    }
  }
  onMount(() => void load());

  const replace = (m: Member) => setMembers((list) => list?.map((x) => (x.userId === m.userId ? m : x)));

  async function act(m: Member, what: string, run: () => Promise<Member>) {
    setBusy(m.userId);
    setActionError(undefined);
    try {
      const updated = await run();
      replace(updated);
      setAnnouncement(`${m.name}: ${what}.`);
    } catch (error) {
      setActionError(`${m.name}: ${errorMessage(error)}`);
      // The list shows what the server holds, not the choice it refused.
      setMembers((list) => list?.map((x) => (x.userId === m.userId ? { ...x } : x)));
    } finally {
      setBusy(undefined);
    }
  }

  /** Roles this admin may give: at most their own. */
  const grantable = () => ROLES.filter((r) => roleRank[r] <= myRank());

  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">Members</h1>
        <a class="button button-secondary" href="/admin/invitations">
          Invite people
        </a>
      </div>
      <p class="page-intro muted">
        Everyone in the organization. Disabling or removing someone ends their sessions and access tokens at
        once.
      </p>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announcement()}
      </p>
      <form
        class="form-grid"
        aria-label="Filter members"
        onSubmit={(event) => {
          event.preventDefault();
          void load();
        }}
      >
        <div class="field">
          <label class="field-label" for="members-q">
            Name or e-mail
          </label>
          <input
            id="members-q"
            class="field-input"
            type="search"
            maxLength={100}
            value={query()}
            onInput={(e) => setQuery(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label class="field-label" for="members-role">
            Role
          </label>
          <select
            id="members-role"
            class="field-input"
            onChange={(e) => {
              setRoleFilter(e.currentTarget.value as Role | '');
              void load();
            }}
          >
            <option value="">Any role</option>
            <For each={ROLES}>{(r) => <option value={r}>{ROLE_LABELS[r]}</option>}</For>
          </select>
        </div>
        <div class="field">
          <Button type="submit" variant="secondary">
            Search
          </Button>
        </div>
      </form>
      <Show when={actionError()}>
        {(message) => (
          <div class="alert alert-error" role="alert">
            <p>{message()}</p>
          </div>
        )}
      </Show>
      <Show when={loadError()}>
        {(error) => (
          <div class="alert alert-error" role="alert">
            <p>Could not load the members. {errorMessage(error())}</p>
            <p>
              <Button variant="secondary" size="small" onClick={() => void load()}>
                Try again
              </Button>
            </p>
          </div>
        )}
      </Show>
      <Switch>
        <Match when={members() === undefined && !loadError()}>
          <div class="list-placeholder">
            <LoadingIndicator label="Loading members…" />
          </div>
        </Match>
        <Match when={members()?.length === 0}>
          <EmptyState title="No members match">
            <p>Try another name, address or role.</p>
          </EmptyState>
        </Match>
        <Match when={members()}>
          {(list) => (
            <div class="table-scroll">
              <table class="data-table" aria-label="Members">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Role</th>
                    <th scope="col">Sign-in</th>
                    <th scope="col">Last sign-in</th>
                    <th scope="col">Status</th>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  <For each={list()}>
                    {(m) => {
                      const self = () => m.userId === me()?.user.id;
                      const manageable = () => !self() && roleRank[m.role] <= myRank();
                      return (
                        <tr>
                          <td>
                            <strong>{m.name}</strong>
                            <br />
                            <span class="muted">{m.email}</span>
                          </td>
                          <td>
                            <Show when={manageable()} fallback={ROLE_LABELS[m.role]}>
                              <select
                                class="field-input"
                                aria-label={`Role of ${m.name}`}
                                disabled={busy() === m.userId}
                                onChange={(e) => {
                                  const role = e.currentTarget.value as Role;
                                  void act(m, `now ${ROLE_LABELS[role]}`, () =>
                                    apis.members.changeRole(m.userId, role),
                                  );
                                }}
                              >
                                <For each={grantable()}>
                                  {(r) => (
                                    <option value={r} selected={r === m.role}>
                                      {ROLE_LABELS[r]}
                                    </option>
                                  )}
                                </For>
                              </select>
                            </Show>
                          </td>
                          <td>{SOURCE_LABELS[m.source]}</td>
                          <td>{m.lastSignInAt ? relativeTime(m.lastSignInAt) : 'Never'}</td>
                          <td>{m.disabledAt ? 'Disabled' : 'Active'}</td>
                          <td>
                            <Show when={manageable()}>
                              <div class="workspace-actions">
                                <Show
                                  when={m.disabledAt}
                                  fallback={
                                    <Button
                                      size="small"
                                      variant="secondary"
                                      pending={busy() === m.userId}
                                      pendingLabel="Working…"
                                      ariaLabel={`Disable ${m.name}`}
                                      onClick={() =>
                                        void act(m, 'disabled', () => apis.members.disable(m.userId))
                                      }
                                    >
                                      Disable
                                    </Button>
                                  }
                                >
                                  <Button
                                    size="small"
                                    variant="secondary"
                                    pending={busy() === m.userId}
                                    pendingLabel="Working…"
                                    ariaLabel={`Enable ${m.name}`}
                                    onClick={() =>
                                      void act(m, 'enabled', () => apis.members.enable(m.userId))
                                    }
                                  >
                                    Enable
                                  </Button>
                                </Show>
                                <Button
                                  size="small"
                                  variant="danger"
                                  ariaLabel={`Remove ${m.name}`}
                                  onClick={() => setRemoving(m)}
                                >
                                  Remove
                                </Button>
                              </div>
                            </Show>
                          </td>
                        </tr>
                      );
                    }}
                  </For>
                </tbody>
              </table>
              <Show when={next()}>
                <p>
                  <Button variant="secondary" size="small" onClick={() => void load(true)}>
                    Show more
                  </Button>
                </p>
              </Show>
            </div>
          )}
        </Match>
      </Switch>
      <Show when={removing()}>
        {(m) => (
          <RemoveDialog
            member={m()}
            admins={(members() ?? []).filter(
              (x) => x.userId !== m().userId && !x.disabledAt && roleRank[x.role] >= roleRank.admin,
            )}
            myId={me()?.user.id ?? ''}
            onDone={(message) => {
              setMembers((list) => list?.filter((x) => x.userId !== m().userId));
              setAnnouncement(message);
              setRemoving(undefined);
            }}
            onCancel={() => setRemoving(undefined)}
          />
        )}
      </Show>
    </>
  );
}

/** Removing someone: their workspaces go to an admin (stopped first) or are deleted. */
function RemoveDialog(props: {
  member: Member;
  admins: Member[];
  myId: string;
  onDone: (message: string) => void;
  onCancel: () => void;
}) {
  const apis = useApis();
  const [mode, setMode] = createSignal<'transfer' | 'delete'>('transfer');
  const [to, setTo] = createSignal(
    props.admins.find((a) => a.userId === props.myId)?.userId ?? props.admins[0]?.userId,
  );
  return (
    <ConfirmDialog
      open
      title={`Remove ${props.member.name}?`}
      confirmLabel="Remove member"
      pendingLabel="Removing…"
      danger
      onConfirm={async () => {
        // A refusal (the last super_admin, say) is shown by the dialog, which stays open.
        const target = to();
        const done = await apis.members.remove(
          props.member.userId,
          mode() === 'transfer' && target
            ? { workspaces: 'transfer', transferTo: target }
            : { workspaces: 'delete' },
        );
        props.onDone(
          `${props.member.name} is removed; ${done.workspaces.transferred} workspaces handed over, ${done.workspaces.deleted} deleted.`,
        );
      }}
      onCancel={props.onCancel}
    >
      <p>Their sessions and access tokens end at once. Their workspaces:</p>
      <fieldset class="field">
        <legend class="field-label">Workspaces</legend>
        <label>
          <input
            type="radio"
            name="remove-workspaces"
            value="transfer"
            checked={mode() === 'transfer'}
            disabled={props.admins.length === 0}
            onChange={() => setMode('transfer')}
          />{' '}
          Stop them and hand them to an admin
        </label>
        <Show when={mode() === 'transfer' && props.admins.length > 0}>
          <div class="field">
            <label class="field-label" for="remove-transfer-to">
              Admin who receives them
            </label>
            <select
              id="remove-transfer-to"
              class="field-input"
              onChange={(e) => setTo(e.currentTarget.value)}
            >
              <For each={props.admins}>
                {(a) => (
                  <option value={a.userId} selected={a.userId === to()}>
                    {a.name} ({a.email})
                  </option>
                )}
              </For>
            </select>
          </div>
        </Show>
        <br />
        <label>
          <input
            type="radio"
            name="remove-workspaces"
            value="delete"
            checked={mode() === 'delete' || props.admins.length === 0}
            onChange={() => setMode('delete')}
          />{' '}
          Delete them
        </label>
      </fieldset>
    </ConfirmDialog>
  );
}
