import { type Invitation, type InvitationStatus, type Role, roleRank } from '@keel/contract/auth';
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
import { ROLE_LABELS, splitAddresses } from './members-api.ts';

const STATUS_LABELS: Record<InvitationStatus, string> = {
  pending: 'Pending',
  accepted: 'Accepted',
  expired: 'Expired',
  revoked: 'Revoked',
};

/** An invitation made here: its link, and whether it went out by e-mail. */
interface Made {
  email: string | null;
  link: string;
  delivery?: { status: string; message: string } | undefined;
}
interface Skipped {
  email: string;
  message: string;
}

/** Admin › Invitations: invite one person or a list, see every invitation's state, withdraw open ones. */
export default function InvitationsPage() {
  usePageTitle('Invitations');
  const apis = useApis();
  const session = useSession();
  const signedIn = () => {
    const s = session.state();
    return s.status === 'signedIn' ? s : undefined;
  };
  const orgId = () => signedIn()?.organization.id ?? '';
  const roles = () =>
    (['viewer', 'developer', 'admin', 'super_admin'] as Role[]).filter(
      (r) => roleRank[r] <= roleRank[signedIn()?.role ?? 'viewer'],
    );
  const [list, setList] = createSignal<Invitation[]>();
  const [loadError, setLoadError] = createSignal<unknown>();
  const [formError, setFormError] = createSignal<string>();
  const [pending, setPending] = createSignal(false);
  const [made, setMade] = createSignal<Made[]>([]);
  const [skipped, setSkipped] = createSignal<Skipped[]>([]);
  const [revoking, setRevoking] = createSignal<Invitation>();
  const [announcement, setAnnouncement] = createSignal('');

  async function load() {
    setLoadError(undefined);
    try {
      setList(await apis.members.invitations(orgId()));
    } catch (error) {
      setLoadError(error);
    }
  }
  onMount(() => void load());

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const role = String(form.get('role') ?? 'developer') as Role;
    const emails = splitAddresses(String(form.get('emails') ?? ''));
    setFormError(undefined);
    setPending(true);
    try {
      if (emails.length <= 1) {
        const one = await apis.members.invite(orgId(), emails[0] ? { email: emails[0], role } : { role });
        setMade([{ email: one.invitation.email, link: one.link, delivery: one.delivery }]);
        setSkipped([]);
      } else {
        const many = await apis.members.inviteMany(orgId(), { emails, role });
        setMade(many.invited.map((i) => ({ email: i.email, link: i.link, delivery: i.delivery })));
        setSkipped(many.skipped);
      }
      (event.target as HTMLFormElement).reset();
      setAnnouncement('Invitations made.');
      await load();
    } catch (error) {
      setFormError(errorMessage(error));
    } finally {
      setPending(false);
    }
  }

  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">Invitations</h1>
      </div>
      <p class="page-intro muted">
        Invite one address, a list of them (one a line), or none to make a link anyone may use once.
      </p>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announcement()}
      </p>
      <form class="form card" aria-label="Invite people" onSubmit={(e) => void submit(e)} novalidate>
        <Show when={formError()}>
          {(message) => (
            <div class="alert alert-error" role="alert">
              <p>{message()}</p>
            </div>
          )}
        </Show>
        <div class="field">
          <label class="field-label" for="invite-emails">
            E-mail addresses
          </label>
          <textarea
            id="invite-emails"
            name="emails"
            class="field-input"
            rows={3}
            aria-describedby="invite-emails-hint"
          />
          <p id="invite-emails-hint" class="field-hint">
            Up to 200, separated by lines or commas. Existing members and repeats are set aside.
          </p>
        </div>
        <div class="field">
          <label class="field-label" for="invite-role">
            Role
          </label>
          <select id="invite-role" name="role" class="field-input">
            <For each={roles()}>
              {(r) => (
                <option value={r} selected={r === 'developer'}>
                  {ROLE_LABELS[r]}
                </option>
              )}
            </For>
          </select>
        </div>
        <Button type="submit" pending={pending()} pendingLabel="Inviting…">
          Invite
        </Button>
      </form>

      <Show when={made().length > 0 || skipped().length > 0}>
        <section class="token-once" aria-label="New invitations">
          <Show when={made().some((m) => m.delivery?.status !== 'sent')}>
            <p>
              <strong>Shown once.</strong>{' '}
              {made().find((m) => m.delivery && m.delivery.status !== 'sent')?.delivery?.message ??
                'Send each person their link.'}
            </p>
          </Show>
          <ul class="invite-links">
            <For each={made()}>
              {(m) => (
                <li>
                  {m.email ?? 'Anyone with the link'}:{' '}
                  {m.delivery?.status === 'sent' ? 'e-mail sent' : <code class="invite-link">{m.link}</code>}
                </li>
              )}
            </For>
            <For each={skipped()}>
              {(s) => (
                <li>
                  {s.email}: not invited. {s.message}
                </li>
              )}
            </For>
          </ul>
        </section>
      </Show>

      <h2 class="section-title">All invitations</h2>
      <Show when={loadError()}>
        {(error) => (
          <div class="alert alert-error" role="alert">
            <p>Could not load the invitations. {errorMessage(error())}</p>
            <p>
              <Button variant="secondary" size="small" onClick={() => void load()}>
                Try again
              </Button>
            </p>
          </div>
        )}
      </Show>
      <Switch>
        <Match when={list() === undefined && !loadError()}>
          <div class="list-placeholder">
            <LoadingIndicator label="Loading invitations…" />
          </div>
        </Match>
        <Match when={list()?.length === 0}>
          <EmptyState title="No invitations yet">
            <p>People you invite show here until they join, and after.</p>
          </EmptyState>
        </Match>
        <Match when={list()}>
          {(rows) => (
            <div class="table-scroll">
              <table class="data-table" aria-label="Invitations">
                <thead>
                  <tr>
                    <th scope="col">Address</th>
                    <th scope="col">Role</th>
                    <th scope="col">Status</th>
                    <th scope="col">Made</th>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  <For each={rows()}>
                    {(inv) => (
                      <tr>
                        <td>{inv.email ?? 'Anyone with the link'}</td>
                        <td>{ROLE_LABELS[inv.role]}</td>
                        <td>{STATUS_LABELS[inv.status]}</td>
                        <td>{relativeTime(inv.createdAt)}</td>
                        <td>
                          <Show when={inv.status === 'pending'}>
                            <Button
                              size="small"
                              variant="secondary"
                              ariaLabel={`Revoke the invitation for ${inv.email ?? 'anyone with the link'}`}
                              onClick={() => setRevoking(inv)}
                            >
                              Revoke
                            </Button>
                          </Show>
                        </td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </div>
          )}
        </Match>
      </Switch>
      <Show when={revoking()}>
        {(inv) => (
          <ConfirmDialog
            open
            title="Revoke this invitation?"
            confirmLabel="Revoke invitation"
            pendingLabel="Revoking…"
            danger
            onConfirm={async () => {
              await apis.members.revokeInvitation(orgId(), inv().id);
              setRevoking(undefined);
              setAnnouncement('Invitation revoked.');
              await load();
            }}
            onCancel={() => setRevoking(undefined)}
          >
            <p>Its link stops working at once.</p>
          </ConfirmDialog>
        )}
      </Show>
    </>
  );
}
