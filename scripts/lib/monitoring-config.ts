/**
 * `scripts/monitoring-config`: renders deploy/monitoring/alertmanager.yml.tmpl into a ready
 * alertmanager.yml from KEEL_ALERT_* variables. Alertmanager expands no environment variables
 * in its configuration, and a file of secrets should not be committed, so the template stays
 * in the repository and the rendered file (with the secrets beside it, mode 0600) lives on the
 * monitoring host. Settings: docs/OBSERVABILITY.md, "Alert routing".
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const TEMPLATE_PATH = fileURLToPath(
  new URL('../../deploy/monitoring/alertmanager.yml.tmpl', import.meta.url),
);

/** A value that goes inside a YAML double-quoted string: one line, no control characters. */
const oneLine = z
  .string()
  .trim()
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
  .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'must be one line without control characters');
const required = (what: string) => oneLine.pipe(z.string().min(1, `${what} is required`));
/** Alertmanager's durations: `30s`, `5m`, `4h`, `1h30m`. */
const duration = oneLine.pipe(
  z.string().regex(/^(\d+(ms|s|m|h|d|w|y))+$/, 'must be a duration such as 30s, 5m or 4h'),
);
const address = required('an address').pipe(
  z.string().regex(/^[^\s@<>]+@[^\s@<>]+$/, 'must be an e-mail address'),
);

export const AlertRoutingEnv = z
  .object({
    KEEL_ALERT_SMTP_SMARTHOST: required('the SMTP server').pipe(
      z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port'),
    ),
    KEEL_ALERT_SMTP_FROM: address,
    KEEL_ALERT_EMAIL_TO: z
      .string()
      .min(1, 'at least one recipient is required')
      .pipe(
        z
          .string()
          .refine(
            (v) => v.split(',').every((a) => address.safeParse(a).success),
            'must be e-mail addresses, comma-separated',
          ),
      ),
    KEEL_ALERT_SMTP_USERNAME: oneLine.default(''),
    KEEL_ALERT_SMTP_PASSWORD: oneLine.optional(),
    KEEL_ALERT_SMTP_PASSWORD_FILE: oneLine.optional(),
    KEEL_ALERT_SMTP_REQUIRE_TLS: z.enum(['true', 'false']).default('true'),
    KEEL_ALERT_SLACK_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
    KEEL_ALERT_SLACK_WEBHOOK_URL_FILE: oneLine.optional(),
    KEEL_ALERT_SLACK_CHANNEL: oneLine.default(''),
    KEEL_ALERT_GROUP_WAIT: duration.default('30s'),
    KEEL_ALERT_GROUP_INTERVAL: duration.default('5m'),
    KEEL_ALERT_REPEAT_INTERVAL: duration.default('4h'),
  })
  .refine((e) => !(e.KEEL_ALERT_SMTP_PASSWORD && e.KEEL_ALERT_SMTP_PASSWORD_FILE), {
    message: 'set KEEL_ALERT_SMTP_PASSWORD or KEEL_ALERT_SMTP_PASSWORD_FILE, not both',
  })
  .refine((e) => Boolean(e.KEEL_ALERT_SLACK_WEBHOOK_URL) !== Boolean(e.KEEL_ALERT_SLACK_WEBHOOK_URL_FILE), {
    message: 'set one of KEEL_ALERT_SLACK_WEBHOOK_URL and KEEL_ALERT_SLACK_WEBHOOK_URL_FILE',
  });
export type AlertRoutingEnv = z.infer<typeof AlertRoutingEnv>;

export class MonitoringConfigError extends Error {}

/** Reads the KEEL_ALERT_* variables; an empty variable counts as unset. */
export function parseAlertRoutingEnv(env: NodeJS.ProcessEnv): AlertRoutingEnv {
  const present = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith('KEEL_ALERT_') && v !== undefined && v !== ''),
  );
  const parsed = AlertRoutingEnv.safeParse(present, {
    error: (issue) =>
      issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined,
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || 'settings'}: ${i.message}`);
    throw new MonitoringConfigError(`alert routing settings are not usable:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Quotes for inside a YAML double-quoted scalar (values are already one line). */
const yamlQuoted = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

/** Replaces every `${NAME}` of the template; a name with no value is an error, never left in. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  const missing = new Set<string>();
  const out = template.replace(/\$\{(KEEL_ALERT_[A-Z0-9_]+)\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) {
      missing.add(name);
      return '';
    }
    return yamlQuoted(v);
  });
  if (missing.size > 0)
    throw new MonitoringConfigError(`the template names unknown settings: ${[...missing].join(', ')}`);
  return out;
}

export interface RenderedAlertmanager {
  /** The rendered configuration's path. */
  configPath: string;
  /** Secret files written beside it (mode 0600). */
  secretPaths: string[];
}

/**
 * Writes alertmanager.yml into `outDir`; a password or webhook URL given by value is written
 * into a file there, so that the configuration itself holds no secret.
 */
export function renderAlertmanagerConfig(
  env: NodeJS.ProcessEnv,
  outDir: string,
  template = readFileSync(TEMPLATE_PATH, 'utf8'),
): RenderedAlertmanager {
  const settings = parseAlertRoutingEnv(env);
  const dir = resolve(outDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secretPaths: string[] = [];
  const writeSecret = (name: string, value: string) => {
    const path = join(dir, name);
    writeFileSync(path, value, { mode: 0o600 });
    chmodSync(path, 0o600);
    secretPaths.push(path);
    return path;
  };
  // Alertmanager resolves relative file names against its own configuration's folder; absolute
  // paths keep the meaning the operator gave them wherever the file is read from.
  const absolute = (p: string) => (isAbsolute(p) ? p : resolve(p));
  const passwordFile = settings.KEEL_ALERT_SMTP_PASSWORD
    ? writeSecret('smtp-password', settings.KEEL_ALERT_SMTP_PASSWORD)
    : settings.KEEL_ALERT_SMTP_PASSWORD_FILE
      ? absolute(settings.KEEL_ALERT_SMTP_PASSWORD_FILE)
      : '';
  const slackFile = settings.KEEL_ALERT_SLACK_WEBHOOK_URL
    ? writeSecret('slack-webhook-url', settings.KEEL_ALERT_SLACK_WEBHOOK_URL)
    : absolute(settings.KEEL_ALERT_SLACK_WEBHOOK_URL_FILE ?? '');
  const values: Record<string, string> = {
    KEEL_ALERT_SMTP_SMARTHOST: settings.KEEL_ALERT_SMTP_SMARTHOST,
    KEEL_ALERT_SMTP_FROM: settings.KEEL_ALERT_SMTP_FROM,
    KEEL_ALERT_SMTP_USERNAME: settings.KEEL_ALERT_SMTP_USERNAME,
    KEEL_ALERT_SMTP_PASSWORD_FILE: passwordFile,
    KEEL_ALERT_SMTP_REQUIRE_TLS: settings.KEEL_ALERT_SMTP_REQUIRE_TLS,
    KEEL_ALERT_SLACK_WEBHOOK_URL_FILE: slackFile,
    KEEL_ALERT_SLACK_CHANNEL: settings.KEEL_ALERT_SLACK_CHANNEL,
    KEEL_ALERT_EMAIL_TO: settings.KEEL_ALERT_EMAIL_TO,
    KEEL_ALERT_GROUP_WAIT: settings.KEEL_ALERT_GROUP_WAIT,
    KEEL_ALERT_GROUP_INTERVAL: settings.KEEL_ALERT_GROUP_INTERVAL,
    KEEL_ALERT_REPEAT_INTERVAL: settings.KEEL_ALERT_REPEAT_INTERVAL,
  };
  const configPath = join(dir, 'alertmanager.yml');
  writeFileSync(configPath, fillTemplate(template, values), { mode: 0o600 });
  return { configPath, secretPaths };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const outDir =
    outIndex >= 0 ? args[outIndex + 1] : join(process.env.KEEL_DATA_DIR ?? '.keel', 'monitoring');
  if (!outDir || args.some((a, i) => a !== '--out' && i !== outIndex + 1)) {
    console.error('usage: scripts/monitoring-config [--out DIR]');
    process.exit(2);
  }
  try {
    const { configPath } = renderAlertmanagerConfig(process.env, outDir);
    console.log(configPath);
  } catch (err) {
    if (err instanceof MonitoringConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}
