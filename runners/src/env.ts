import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { REDIS_URL_MESSAGE, REDIS_URL_PATTERN } from '@keel/contract/redis-url';
import { Labels } from '@keel/contract/runners';
import { EXEC_OUTPUT_MAX_BYTES } from '@keel/contract/streams';
import { z } from 'zod';

const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');

/** An empty variable (`VAR=` in a unit file or a script toggling it) counts as unset. */
const unsetWhenEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema);

/** The runner's configuration, from the environment (flags map onto the same names). */
export const RunnerEnv = z.object({
  /** Where the edge answers, e.g. https://keel.example.com */
  KEEL_URL: z.url(),
  /** Needed for the first start only; afterwards the saved credential is used. */
  KEEL_RUNNER_TOKEN: z.string().min(1).optional(),
  KEEL_RUNNER_NAME: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
    .default(
      hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 63) || 'runner',
    ),
  /** Comma-separated key=value pairs. */
  KEEL_RUNNER_LABELS: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const entries = s
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .map((p) => p.split('=', 2) as [string, string]);
      const parsed = Labels.safeParse(Object.fromEntries(entries.map(([k, v]) => [k, v ?? ''])));
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: 'labels must be key=value pairs of lower-case keys' });
        return z.NEVER;
      }
      return parsed.data;
    }),
  KEEL_RUNNER_DATA_DIR: z.string().default('/var/lib/keel-runner'),
  /**
   * The snapshot folder when the install's store is a folder without a path of its own
   * (default `<KEEL_RUNNER_DATA_DIR>/snapshots`, see snapshotDir). Runners that should restore
   * each other's snapshots must share it.
   */
  KEEL_SNAPSHOT_DIR: z.string().startsWith('/', 'an absolute path').optional(),
  /** Process driver only: where workspace folders live (default: see defaultProcessRoot). */
  KEEL_RUNNER_WORKSPACES_DIR: z.string().optional(),
  KEEL_RUNNER_DRIVER: z.enum(['auto', 'docker', 'process']).default('auto'),
  KEEL_RUNNER_ALLOW_UNSANDBOXED: flag,
  /** Redis the edge uses; the runner reads and writes only under its own prefix. */
  REDIS_URL: z.string().regex(REDIS_URL_PATTERN, REDIS_URL_MESSAGE),
  KEEL_RUNNER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(32),
  KEEL_RUNNER_CAPACITY_WORKSPACES: z.coerce.number().int().min(1).max(10_000).default(50),
  /** Stop a workspace after this long without commands or file activity; 0 never. */
  KEEL_IDLE_STOP_SECONDS: z.coerce.number().int().min(0).default(3600),
  KEEL_WORKSPACE_IMAGE: z.string().optional(),
  /**
   * Previews on local workspaces connect straight into the workspace's network namespace (see
   * runners/src/preview/netns-ports.ts); `false` carries them through the forwarder inside it.
   */
  KEEL_RUNNER_PREVIEW_DIRECT: z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((v) => v !== 'false' && v !== '0'),
  /** Allow cloning from file:// URLs and absolute paths on this host (tests, air-gapped mirrors). */
  KEEL_RUNNER_ALLOW_LOCAL_GIT: flag,
  /** How long a job stays locked without renewal; a killed runner's jobs return to the queue after it. */
  KEEL_RUNNER_LOCK_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  /**
   * Output one command may leave in Redis (stdout and stderr together); past it the output
   * is cut, the command is stopped and its exit says so. 16 MiB by default.
   */
  KEEL_EXEC_OUTPUT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(2 ** 40)
    .default(EXEC_OUTPUT_MAX_BYTES),
  /** A terminal with no browser attached for this long ends (its shell and what it started). */
  KEEL_TERMINAL_IDLE_SECONDS: z.coerce.number().int().min(1).default(900),
  /** Quick open: file names kept per workspace at most (a larger workspace's index says it is cut). */
  KEEL_QUICK_OPEN_MAX_FILES: z.coerce.number().int().min(100).max(2_000_000).default(200_000),
  /** Quick open: an index older than this is refreshed in the background (commands run in a terminal). */
  KEEL_QUICK_OPEN_MAX_AGE_SECONDS: z.coerce.number().min(0).max(86_400).default(10),
  /** Search across files: ripgrep is stopped after this long and the results say `truncated: time`. */
  KEEL_SEARCH_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(600).default(20),
  /** A language server with no browser connection for this long stops. */
  KEEL_RUNNER_LSP_IDLE_SECONDS: z.coerce.number().int().min(1).default(600),
  /**
   * Prometheus metrics on a listener of their own, never the public one; unset: off, and
   * nothing is recorded per job (see metrics/).
   */
  /** An OpenTelemetry collector for the jobs' spans (contract/otlp); checked at start. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().optional(),
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_SERVICE_NAME: z.string().optional(),
  /** How often the runner samples its running workspaces' usage and reports it to the edge. */
  KEEL_RUNNER_USAGE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  KEEL_RUNNER_METRICS_PORT: unsetWhenEmpty(z.coerce.number().int().min(1).max(65_535).optional()),
  /** Where that listener binds; loopback unless a scraper elsewhere needs it. */
  KEEL_RUNNER_METRICS_HOST: z.string().min(1).max(255).default('127.0.0.1'),
  /** When set, a scrape must send `Authorization: Bearer <token>`. */
  KEEL_RUNNER_METRICS_TOKEN: unsetWhenEmpty(
    z.string().min(16, 'at least 16 characters').max(4096).optional(),
  ),
  // The model server (vLLM, llama.cpp, Ollama, OpenAI): kept as text here and checked by
  // parseAiConfig (ai/config.ts), which names the bad variable; unset base URL = no AI.
  KEEL_AI_BASE_URL: z.string().optional(),
  KEEL_AI_MODEL: z.string().optional(),
  KEEL_AI_API_KEY: z.string().optional(),
  KEEL_AI_MAX_CONCURRENCY: z.string().optional(),
  KEEL_AI_TIMEOUT_MS: z.string().optional(),
  KEEL_AI_FIRST_TOKEN_TIMEOUT_MS: z.string().optional(),
  KEEL_AI_MAX_OUTPUT_TOKENS: z.string().optional(),
  KEEL_AI_CONTEXT_TOKENS: z.string().optional(),
});
export type RunnerConfig = z.infer<typeof RunnerEnv>;

/** Where a folder snapshot store with no path of its own lives on this runner. */
export function snapshotDir(
  config: Pick<RunnerConfig, 'KEEL_SNAPSHOT_DIR' | 'KEEL_RUNNER_DATA_DIR'>,
): string {
  return config.KEEL_SNAPSHOT_DIR ?? resolve(config.KEEL_RUNNER_DATA_DIR, 'snapshots');
}

export function parseRunnerEnv(source: Record<string, string | undefined>): RunnerConfig {
  const parsed = RunnerEnv.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid keel-runner configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
