import { z } from 'zod';

/** Thrown for a bad AI configuration; names the variables, never their values (one may be a key). */
export class AiConfigError extends Error {
  override name = 'AiConfigError';
}

const int = (min: number, max: number, fallback: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce
      .number({ error: 'must be a number' })
      .int({ error: 'must be a whole number' })
      .min(min, { error: `must be at least ${min}` })
      .max(max, { error: `must be at most ${max}` })
      .default(fallback),
  );

const AiEnv = z.object({
  KEEL_AI_BASE_URL: z
    .string()
    .trim()
    .pipe(
      z.url({
        protocol: /^https?$/,
        error: 'must be an http(s) URL of an OpenAI-compatible API, e.g. http://gpu-host:8000/v1',
      }),
    ),
  // Presence is checked with a clearer message in parseAiConfig.
  KEEL_AI_MODEL: z.string().trim().default(''),
  KEEL_AI_API_KEY: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v ? v : undefined)),
  KEEL_AI_MAX_CONCURRENCY: int(1, 1024, 4),
  KEEL_AI_TIMEOUT_MS: int(1_000, 3_600_000, 120_000),
  KEEL_AI_FIRST_TOKEN_TIMEOUT_MS: int(100, 3_600_000, 30_000),
  KEEL_AI_MAX_OUTPUT_TOKENS: int(1, 1_000_000, 2048),
  KEEL_AI_CONTEXT_TOKENS: int(512, 10_000_000, 8192),
});

export interface AiConfig {
  /** The OpenAI-compatible API root, with the `/v1` suffix (vLLM, llama.cpp server, Ollama, OpenAI). */
  baseUrl: string;
  model: string;
  apiKey: string | undefined;
  maxConcurrency: number;
  timeoutMs: number;
  firstTokenTimeoutMs: number;
  maxOutputTokens: number;
  /** The model's context window (vLLM's --max-model-len): prompt and answer together must fit. */
  contextTokens: number;
}

/**
 * Reads the AI settings. Returns `undefined` when `KEEL_AI_BASE_URL` is unset: AI is an
 * optional feature and a runner without a model must still start. Throws `AiConfigError`
 * when the settings are present but unusable, so a typo fails at start-up, not at the first prompt.
 */
export type AiEnvName = keyof z.input<typeof AiEnv>;

export function parseAiConfig(
  source: { readonly [K in AiEnvName]?: string | undefined },
): AiConfig | undefined {
  if (!source.KEEL_AI_BASE_URL?.trim()) return undefined;
  const parsed = AiEnv.safeParse(source);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
  if (!source.KEEL_AI_MODEL?.trim()) {
    problems.push(
      '  KEEL_AI_MODEL: required when KEEL_AI_BASE_URL is set (the model name the server serves, see GET /v1/models)',
    );
  }
  if (parsed.success && parsed.data.KEEL_AI_FIRST_TOKEN_TIMEOUT_MS > parsed.data.KEEL_AI_TIMEOUT_MS) {
    problems.push('  KEEL_AI_FIRST_TOKEN_TIMEOUT_MS: must not exceed KEEL_AI_TIMEOUT_MS');
  }
  if (parsed.success && parsed.data.KEEL_AI_MAX_OUTPUT_TOKENS >= parsed.data.KEEL_AI_CONTEXT_TOKENS) {
    problems.push(
      '  KEEL_AI_MAX_OUTPUT_TOKENS: must be smaller than KEEL_AI_CONTEXT_TOKENS (the answer shares the context window)',
    );
  }
  if (!parsed.success || problems.length > 0) {
    throw new AiConfigError(`Invalid Keel AI configuration:\n${problems.join('\n')}`);
  }
  const e = parsed.data;
  return {
    baseUrl: e.KEEL_AI_BASE_URL.replace(/\/+$/, ''),
    model: e.KEEL_AI_MODEL,
    apiKey: e.KEEL_AI_API_KEY,
    maxConcurrency: e.KEEL_AI_MAX_CONCURRENCY,
    timeoutMs: e.KEEL_AI_TIMEOUT_MS,
    firstTokenTimeoutMs: e.KEEL_AI_FIRST_TOKEN_TIMEOUT_MS,
    maxOutputTokens: e.KEEL_AI_MAX_OUTPUT_TOKENS,
    contextTokens: e.KEEL_AI_CONTEXT_TOKENS,
  };
}
