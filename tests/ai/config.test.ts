import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AiConfigError, parseAiConfig } from '../../runners/src/ai/config.ts';

describe('AI configuration from the environment', () => {
  test('no KEEL_AI_BASE_URL means AI is disabled, not an error', () => {
    assert.equal(parseAiConfig({}), undefined);
    assert.equal(parseAiConfig({ KEEL_AI_BASE_URL: '', KEEL_AI_MODEL: 'm' }), undefined);
  });

  test('defaults, and the base URL without a trailing slash', () => {
    const c = parseAiConfig({ KEEL_AI_BASE_URL: 'http://gpu-host:8000/v1/', KEEL_AI_MODEL: 'qwen2.5-coder' });
    assert.deepEqual(c, {
      baseUrl: 'http://gpu-host:8000/v1',
      model: 'qwen2.5-coder',
      apiKey: undefined,
      maxConcurrency: 4,
      timeoutMs: 120_000,
      firstTokenTimeoutMs: 30_000,
      maxOutputTokens: 2048,
      contextTokens: 8192,
    });
  });

  test('every setting is read', () => {
    const c = parseAiConfig({
      KEEL_AI_BASE_URL: 'https://llm.internal/v1',
      KEEL_AI_MODEL: 'm',
      KEEL_AI_API_KEY: 'sk-local',
      KEEL_AI_MAX_CONCURRENCY: '16',
      KEEL_AI_TIMEOUT_MS: '60000',
      KEEL_AI_FIRST_TOKEN_TIMEOUT_MS: '5000',
      KEEL_AI_MAX_OUTPUT_TOKENS: '4096',
      KEEL_AI_CONTEXT_TOKENS: '32768',
    });
    assert.equal(c?.apiKey, 'sk-local');
    assert.equal(c?.maxConcurrency, 16);
    assert.equal(c?.timeoutMs, 60_000);
    assert.equal(c?.firstTokenTimeoutMs, 5_000);
    assert.equal(c?.maxOutputTokens, 4096);
    assert.equal(c?.contextTokens, 32_768);
  });

  test('a bad configuration names each bad variable and says what is wrong', () => {
    const error = (env: Record<string, string>) => {
      try {
        parseAiConfig(env);
      } catch (err) {
        assert.ok(err instanceof AiConfigError);
        return err.message;
      }
      assert.fail('should throw');
    };
    assert.match(
      error({ KEEL_AI_BASE_URL: 'gpu-host:8000', KEEL_AI_MODEL: 'm' }),
      /KEEL_AI_BASE_URL: must be an http\(s\) URL/,
    );
    assert.match(error({ KEEL_AI_BASE_URL: 'ftp://gpu-host/v1', KEEL_AI_MODEL: 'm' }), /KEEL_AI_BASE_URL/);
    assert.match(
      error({ KEEL_AI_BASE_URL: 'http://gpu-host:8000/v1' }),
      /KEEL_AI_MODEL: required when KEEL_AI_BASE_URL is set/,
    );
    // Both problems at once, so a broken deployment is fixed in one go.
    const both = error({ KEEL_AI_BASE_URL: 'gpu-host' });
    assert.match(both, /KEEL_AI_BASE_URL/);
    assert.match(both, /KEEL_AI_MODEL/);
    const many = error({
      KEEL_AI_BASE_URL: 'http://h/v1',
      KEEL_AI_MODEL: 'm',
      KEEL_AI_MAX_CONCURRENCY: 'lots',
      KEEL_AI_TIMEOUT_MS: '1.5',
      KEEL_AI_MAX_OUTPUT_TOKENS: '0',
    });
    assert.match(many, /KEEL_AI_MAX_CONCURRENCY: must be a number/);
    assert.match(many, /KEEL_AI_TIMEOUT_MS: must be a whole number/);
    assert.match(many, /KEEL_AI_MAX_OUTPUT_TOKENS: must be at least 1/);
    assert.match(
      error({
        KEEL_AI_BASE_URL: 'http://h/v1',
        KEEL_AI_MODEL: 'm',
        KEEL_AI_TIMEOUT_MS: '10000',
        KEEL_AI_FIRST_TOKEN_TIMEOUT_MS: '20000',
      }),
      /KEEL_AI_FIRST_TOKEN_TIMEOUT_MS: must not exceed KEEL_AI_TIMEOUT_MS/,
    );
    assert.match(
      error({
        KEEL_AI_BASE_URL: 'http://h/v1',
        KEEL_AI_MODEL: 'm',
        KEEL_AI_MAX_OUTPUT_TOKENS: '4096',
        KEEL_AI_CONTEXT_TOKENS: '4096',
      }),
      /KEEL_AI_MAX_OUTPUT_TOKENS: must be smaller than KEEL_AI_CONTEXT_TOKENS/,
    );
  });

  test('the API key never appears in an error', () => {
    const key = 'sk-very-secret-key-123';
    assert.throws(
      () => parseAiConfig({ KEEL_AI_BASE_URL: 'not a url', KEEL_AI_API_KEY: key }),
      (err: Error) => err instanceof AiConfigError && !err.message.includes(key),
    );
  });
});
