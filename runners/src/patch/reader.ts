import { PatchParseError } from './errors.ts';

/** Cursor over the lines of a patch, with errors that carry the file and the line number. */
export interface LineReader {
  /** Display name of the file being read, for errors. */
  file: string | null;
  peek(): string | undefined;
  done(): boolean;
  /** 1-based number of the line `peek` returns. */
  lineNo(): number;
  /** Consumes a line that may hold anything (hunk content). */
  next(): string;
  /** Consumes a header line, refusing a trailing CR that would end up in a name. */
  headerLine(): string;
  fail(reason: string, line?: number): never;
}

export function reader(text: string): LineReader {
  // Only '\n' ends a patch line: a '\r' before it is content of a CRLF file's line.
  const lines = text === '' ? [] : text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let i = 0;
  const r: LineReader = {
    file: null,
    peek: () => lines[i],
    done: () => i >= lines.length,
    lineNo: () => i + 1,
    next() {
      const line = lines[i];
      if (line === undefined) return r.fail('unexpected end of patch');
      i++;
      if (LONE_SURROGATE.test(line)) r.fail('text is not well-formed Unicode', i);
      return line;
    },
    headerLine() {
      const line = r.next();
      if (line.endsWith('\r')) {
        r.fail('carriage return at the end of a header line (patch converted to CRLF?)', i);
      }
      return line;
    },
    fail(reason, line = i + 1): never {
      throw new PatchParseError(r.file, line, reason);
    },
  };
  return r;
}

// In a 'u' regex, surrogate pairs are one code point: only unpaired halves match.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** A name or line as it can be shown in a message: escaped when it holds odd characters. */
export function printable(s: string): string {
  const short = s.length > 120 ? `${s.slice(0, 120)}…` : s;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: detecting them is the point
  const odd = /[\u0000-\u001f\u007f"\\]/.test(short) || LONE_SURROGATE.test(short) || short !== short.trim();
  return odd ? JSON.stringify(short) : short;
}
