import { type BuiltContext, type LineRange, renderContext } from './context-builder.ts';
import type { ChatMessage } from './model-client.ts';
import { normalizeWorkspacePath } from './workspace-path.ts';

/**
 * Prompts for the three AI tasks. Short on purpose: small local models follow short,
 * concrete instructions better, and every token here is a token less of the user's code.
 * Nothing here is logged or stored; the audit trail keeps hashes of what these return.
 */

const CONTEXT_NOTE =
  'Files from the user\'s workspace follow, each headed by its path and the lines shown. "truncated" means you see only part of it.';

export interface ExplainInput {
  path: string;
  context: BuiltContext;
  selection?: LineRange;
  question?: string;
}

export function explainPrompt(input: ExplainInput): ChatMessage[] {
  const what = input.selection ? `${describeRange(input.selection)} of ${input.path}` : input.path;
  const question = input.question?.trim();
  return [
    {
      role: 'system',
      content:
        'You explain code to a developer in their editor. Be accurate and concise, and name the functions and lines you mean. ' +
        'If the answer depends on code you were not shown, say so instead of guessing.',
    },
    {
      role: 'user',
      content: `${CONTEXT_NOTE}\n\n${renderContext(input.context)}\n\nExplain ${what}.${question ? `\nQuestion: ${question}` : ''}`,
    },
  ];
}

export interface RewriteInput {
  path: string;
  context: BuiltContext;
  instruction: string;
  /** Rewrite these lines only; without it the whole file is rewritten. */
  selection?: LineRange;
}

/** The text to rewrite is not complete in the context, so the model could not return all of it. */
export class RewriteTargetTooLarge extends Error {
  override name = 'RewriteTargetTooLarge';
  constructor() {
    super('the code to rewrite does not fit in the model context; select fewer lines');
  }
}

/**
 * The model answers with the complete new text of the target in one fenced block; the runner
 * extracts it with `extractCode` and turns it into a diff. Asking for the whole target rather
 * than a diff, because models write code far more reliably than they count diff hunks.
 */
export function rewritePrompt(input: RewriteInput): ChatMessage[] {
  const reason = input.selection ? 'selection' : 'file';
  const path = normalizeWorkspacePath(input.path);
  const target = input.context.blocks.find((b) => b.path === path && b.reason === reason);
  if (!target || target.truncated) throw new RewriteTargetTooLarge();
  const what = input.selection
    ? `${describeRange(input.selection)} of ${input.path} (the selection)`
    : `the whole of ${input.path}`;
  return [
    {
      role: 'system',
      content:
        'You rewrite code as instructed. Reply with the complete new text of the part you are asked to rewrite, ' +
        'in exactly one fenced code block, and nothing after it. Change only what the instruction asks for; ' +
        'keep everything else exactly as it is, including indentation and comments. Never abbreviate with "..." or "rest unchanged".',
    },
    {
      role: 'user',
      content: `${CONTEXT_NOTE}\n\n${renderContext(input.context)}\n\nRewrite ${what}.\nInstruction: ${input.instruction.trim()}`,
    },
  ];
}

export interface ChatInput {
  /** The conversation so far, ending with the user's new message. */
  history: Array<{ role: 'user' | 'assistant'; content: string }>;
  /** Files the user attached to the conversation (see `buildFilesContext`). */
  context?: BuiltContext;
}

export function chatPrompt(input: ChatInput): ChatMessage[] {
  const files =
    input.context && input.context.blocks.length > 0
      ? `\n\n${CONTEXT_NOTE}\n\n${renderContext(input.context)}`
      : '';
  return [
    {
      role: 'system',
      content:
        'You are a coding assistant in the Keel IDE. Answer precisely and briefly; put code in fenced blocks. ' +
        `If the answer depends on code you were not shown, say so.${files}`,
    },
    // Only user and assistant turns: a client must not be able to slip in its own system message.
    ...input.history.map(
      (m): ChatMessage => ({ role: m.role === 'assistant' ? 'assistant' : 'user', content: m.content }),
    ),
  ];
}

function describeRange(r: LineRange): string {
  return r.startLine === r.endLine ? `line ${r.startLine}` : `lines ${r.startLine}-${r.endLine}`;
}

// ---- reading the model's answer ----

export interface ExtractedCode {
  code: string;
  /** The fence's info string (first word), if any. */
  language: string | undefined;
  /** 'closed': a complete fenced block; 'unclosed': the answer ended inside a block; 'none': no fence, the whole answer. */
  fence: 'closed' | 'unclosed' | 'none';
}

const OPEN = /^( {0,3})(`{3,}|~{3,})[ \t]*([^\s`]*)[^`]*$/;

/**
 * The code of a rewrite answer: the largest fenced block (the later one on a tie, as models
 * put the final version last), an unterminated last block when the answer was cut off or the
 * model forgot to close it, or the whole answer when the model ignored the fences.
 */
export function extractCode(answer: string): ExtractedCode {
  const lines = answer.replace(/\r\n/g, '\n').split('\n');
  const blocks: ExtractedCode[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = OPEN.exec(lines[i] ?? '');
    if (!open) continue;
    const indent = open[1]?.length ?? 0;
    const marker = open[2] ?? '```';
    const closing = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !closing.test(lines[j] ?? '')) body.push(dedent(lines[j++] ?? '', indent));
    blocks.push({
      code: body.join('\n'),
      language: open[3] || undefined,
      fence: j < lines.length ? 'closed' : 'unclosed',
    });
    i = j;
  }
  if (blocks.length === 0)
    return { code: trimBlankLines(answer.replace(/\r\n/g, '\n')), language: undefined, fence: 'none' };
  return blocks.reduce((best, b) => (b.code.length >= best.code.length ? b : best));
}

function dedent(line: string, n: number): string {
  let i = 0;
  while (i < n && line[i] === ' ') i++;
  return line.slice(i);
}

function trimBlankLines(text: string): string {
  return text.replace(/^(?:[ \t]*\n)+/, '').replace(/(?:\n[ \t]*)+$/, '');
}
