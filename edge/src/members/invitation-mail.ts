import type { InvitationDelivery } from '@keel/contract/auth';
import type { Services } from '../services.ts';

export interface InvitationMail {
  to: string;
  link: string;
  organization: string;
  inviter: string;
  role: string;
  expiresAt: Date;
}

/** What the console shows when nothing is sent: the links are for the admin to pass on. */
export const EMAIL_OFF: InvitationDelivery = {
  status: 'off',
  message: 'E-mail is off (KEEL_SMTP_URL is not set): copy the link and send it yourself',
};
export const EMAIL_NEEDS_NODE: InvitationDelivery = {
  status: 'unavailable',
  message:
    'E-mail needs the Node edge (workerd cannot run the SMTP client): copy the link and send it yourself',
};

/** workerd announces itself so; on it nodemailer (sockets, DNS, TLS upgrades) is not available. */
function onWorkerd(): boolean {
  return (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === 'Cloudflare-Workers';
}

/** Whether invitations go out by e-mail here, before any is sent. */
export function mailAvailability(services: Pick<Services, 'config'>): InvitationDelivery | undefined {
  if (!services.config.smtp) return EMAIL_OFF;
  if (onWorkerd()) return EMAIL_NEEDS_NODE;
  return undefined;
}

interface Transport {
  sendMail(message: Record<string, unknown>): Promise<unknown>;
  close(): void;
}

/**
 * One SMTP connection for a batch of invitations (a bulk invitation sends up to 200), closed
 * when the batch is done; short timeouts, so a dead server makes a clear failure, never a hang.
 */
export async function openMailer(
  services: Pick<Services, 'config'>,
): Promise<
  | { send(mail: InvitationMail): Promise<InvitationDelivery>; close(): void }
  | { unavailable: InvitationDelivery }
> {
  const off = mailAvailability(services);
  if (off) return { unavailable: off };
  const smtp = services.config.smtp!;
  // Named at run time, so the workerd bundle never includes the Node-only SMTP client.
  const moduleName = 'nodemailer';
  const nodemailer = (await import(/* @vite-ignore */ moduleName)) as {
    default: { createTransport(url: string, defaults?: Record<string, unknown>): Transport };
  };
  const url = new URL(smtp.url);
  url.searchParams.set('pool', 'true');
  url.searchParams.set('maxConnections', '1');
  url.searchParams.set('connectionTimeout', '10000');
  url.searchParams.set('greetingTimeout', '10000');
  url.searchParams.set('socketTimeout', '20000');
  const transport = nodemailer.default.createTransport(url.toString(), { from: smtp.from });
  return {
    async send(mail) {
      try {
        await transport.sendMail({
          to: mail.to,
          subject: `${mail.inviter} invited you to ${mail.organization} on Keel`,
          text: invitationText(mail),
        });
        return { status: 'sent', message: `Sent to ${mail.to}` };
      } catch (err) {
        // The server's answer, without the credentials a URL might carry.
        const why = err instanceof Error ? err.message.replace(smtp.url, '(smtp)').slice(0, 300) : 'unknown';
        return { status: 'failed', message: `The SMTP server did not take it: ${why}` };
      }
    },
    close: () => transport.close(),
  };
}

function invitationText(mail: InvitationMail): string {
  return [
    `${mail.inviter} invited you to join ${mail.organization} on Keel as ${mail.role}.`,
    '',
    `Accept the invitation and create your account here:`,
    mail.link,
    '',
    `The link works once, until ${mail.expiresAt.toUTCString()}.`,
    `If you did not expect this, ignore this message.`,
  ].join('\n');
}
