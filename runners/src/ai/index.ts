/** The runner's AI pieces: configuration, the model client, context building and prompts. */
export { type AiConfig, AiConfigError, parseAiConfig } from './config.ts';
export {
  BLOCK_SEPARATOR,
  type BuildContextInput,
  type BuildFilesContextInput,
  type BuiltContext,
  buildContext,
  buildFilesContext,
  type ContextBlock,
  type ContextReason,
  type LineRange,
  MIN_BLOCK_TOKENS,
  renderBlock,
  renderContext,
  type WorkspaceReader,
} from './context-builder.ts';
export {
  AiCancelled,
  AiError,
  type AiErrorCode,
  AiTimeout,
  type AiTimeoutPhase,
  AiUnavailable,
  type AiUnavailableReason,
  AiUpstreamError,
} from './errors.ts';
export {
  type ChatEvent,
  type ChatMessage,
  type ChatUsage,
  createModelClient,
  type ModelClient,
  type ModelClientOptions,
  type StreamChatRequest,
} from './model-client.ts';
export {
  type ChatInput,
  chatPrompt,
  type ExplainInput,
  type ExtractedCode,
  explainPrompt,
  extractCode,
  type RewriteInput,
  RewriteTargetTooLarge,
  rewritePrompt,
} from './prompts.ts';
export { estimateTokens, type Tokenizer } from './tokens.ts';
export { normalizeWorkspacePath } from './workspace-path.ts';
