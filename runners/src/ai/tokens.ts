/** Counts the tokens a text costs. Pluggable so a deployment can use the served model's real tokenizer. */
export type Tokenizer = (text: string) => number;

/**
 * About four characters per token for code and English with BPE vocabularies. Rounding up
 * errs towards sending less, which is the safe side of a context window.
 */
export const estimateTokens: Tokenizer = (text) => Math.ceil(text.length / 4);
