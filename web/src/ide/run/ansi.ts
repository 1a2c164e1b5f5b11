/**
 * A small ANSI escape-sequence reader for command output: SGR colours and text attributes become styled
 * runs of text; every other escape sequence (cursor moves, titles, clears) is dropped, since the run panel
 * is a log rather than a terminal. Sequences split across chunks are completed by the next chunk.
 */

/** A colour: an index into the 16-colour theme palette, or a fixed `#rrggbb`. */
export type AnsiColor = number | string;

export interface AnsiStyle {
  fg?: AnsiColor;
  bg?: AnsiColor;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
  strike?: boolean;
}

export interface StyledText {
  text: string;
  style: AnsiStyle;
}

export interface AnsiReader {
  push(chunk: string): StyledText[];
}

const ESC = '\u001b';
/** An unfinished escape longer than this is not a real one: show it as text rather than wait forever. */
const MAX_PENDING = 256;

export function createAnsiReader(): AnsiReader {
  let style: AnsiStyle = {};
  let pending = '';
  let pendingCarriageReturn = false;

  function push(chunk: string): StyledText[] {
    const out: StyledText[] = [];
    let text = '';
    const emit = () => {
      if (text === '') return;
      const last = out[out.length - 1];
      if (last !== undefined && last.style === style) last.text += text;
      else out.push({ text, style });
      text = '';
    };

    let input = pending + chunk;
    pending = '';
    if (pendingCarriageReturn) {
      pendingCarriageReturn = false;
      if (!input.startsWith('\n')) input = `\n${input}`;
    }

    let i = 0;
    while (i < input.length) {
      const char = input[i]!;
      if (char === ESC) {
        const end = escapeEnd(input, i);
        if (end === undefined) {
          if (input.length - i <= MAX_PENDING) {
            pending = input.slice(i);
            break;
          }
          text += input.slice(i);
          break;
        }
        const sequence = input.slice(i, end);
        if (sequence.startsWith(`${ESC}[`) && sequence.endsWith('m')) {
          emit();
          style = applySgr(style, sequence.slice(2, -1));
        }
        i = end;
        continue;
      }
      if (char === '\r') {
        // \r\n is a line end; a lone \r (progress bars redrawing a line) is shown as a new line.
        if (i === input.length - 1) pendingCarriageReturn = true;
        else if (input[i + 1] !== '\n') text += '\n';
        i += 1;
        continue;
      }
      const code = char.charCodeAt(0);
      // Other control characters (bell, backspace, NUL) have no visible form in a log.
      if ((code < 0x20 && char !== '\n' && char !== '\t') || code === 0x7f) {
        i += 1;
        continue;
      }
      text += char;
      i += 1;
    }
    emit();
    return out;
  }

  return { push };
}

/** Where the escape sequence starting at `start` ends (exclusive), or undefined when it is not complete. */
function escapeEnd(input: string, start: number): number | undefined {
  const kind = input[start + 1];
  if (kind === undefined) return undefined;
  if (kind === '[') {
    // CSI: parameter bytes (0-?) and intermediate bytes (space-/), then one final byte (@-~).
    for (let j = start + 2; j < input.length; j += 1) {
      const code = input.charCodeAt(j);
      if (code >= 0x40 && code <= 0x7e) return j + 1;
      // Malformed: drop what was read so far and carry on with the text.
      if (code < 0x20 || code > 0x7e) return j;
    }
    return undefined;
  }
  if (kind === ']' || kind === 'P' || kind === '_' || kind === '^') {
    // OSC and other strings: end at BEL or ST (ESC \).
    for (let j = start + 2; j < input.length; j += 1) {
      if (input[j] === '\u0007') return j + 1;
      if (input[j] === ESC && input[j + 1] === '\\') return j + 2;
      if (input[j] === ESC && j + 1 === input.length) return undefined;
    }
    return undefined;
  }
  // Two-character escapes (ESC 7, ESC =, ESC ( B needs one more).
  if (kind === '(' || kind === ')') return start + 3 <= input.length ? start + 3 : undefined;
  return start + 2;
}

/** Applies an SGR parameter string ("1;31", "38;5;208", "") to a style; returns a new object when changed. */
export function applySgr(current: AnsiStyle, params: string): AnsiStyle {
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  let next: AnsiStyle = { ...current };
  for (let k = 0; k < codes.length; k += 1) {
    const code = codes[k]!;
    if (code === 0) next = {};
    else if (code === 1) next.bold = true;
    else if (code === 2) next.dim = true;
    else if (code === 3) next.italic = true;
    else if (code === 4) next.underline = true;
    else if (code === 7) next.inverse = true;
    else if (code === 9) next.strike = true;
    else if (code === 21 || code === 22) {
      delete next.bold;
      delete next.dim;
    } else if (code === 23) delete next.italic;
    else if (code === 24) delete next.underline;
    else if (code === 27) delete next.inverse;
    else if (code === 29) delete next.strike;
    else if (code >= 30 && code <= 37) next.fg = code - 30;
    else if (code >= 90 && code <= 97) next.fg = code - 90 + 8;
    else if (code === 39) delete next.fg;
    else if (code >= 40 && code <= 47) next.bg = code - 40;
    else if (code >= 100 && code <= 107) next.bg = code - 100 + 8;
    else if (code === 49) delete next.bg;
    else if (code === 38 || code === 48) {
      const [color, used] = extendedColor(codes, k + 1);
      k += used;
      if (color !== undefined) {
        if (code === 38) next.fg = color;
        else next.bg = color;
      }
    }
  }
  return next;
}

/** Reads `5;n` (256 colours) or `2;r;g;b` (true colour) after a 38 or 48; returns the colour and codes used. */
function extendedColor(codes: readonly number[], at: number): [AnsiColor | undefined, number] {
  const mode = codes[at];
  if (mode === 5) {
    const n = codes[at + 1];
    if (n === undefined || n < 0 || n > 255) return [undefined, 2];
    return [n < 16 ? n : xterm256(n), 2];
  }
  if (mode === 2) {
    const rgb = codes.slice(at + 1, at + 4);
    if (rgb.length < 3 || rgb.some((c) => !(c >= 0 && c <= 255))) return [undefined, 4];
    return [hex(rgb[0]!, rgb[1]!, rgb[2]!), 4];
  }
  return [undefined, 1];
}

const CUBE = [0, 95, 135, 175, 215, 255] as const;

function xterm256(n: number): string {
  if (n >= 232) {
    const level = 8 + (n - 232) * 10;
    return hex(level, level, level);
  }
  const i = n - 16;
  return hex(CUBE[Math.floor(i / 36)]!, CUBE[Math.floor(i / 6) % 6]!, CUBE[i % 6]!);
}

function hex(r: number, g: number, b: number): string {
  return `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * The class names and inline style a run of text needs. Palette colours are classes (so the theme picks
 * readable shades for light and dark backgrounds); fixed colours are inline styles.
 */
export function ansiPresentation(style: AnsiStyle): { class: string; style: Record<string, string> } {
  let fg = style.fg;
  let bg = style.bg;
  const classes: string[] = [];
  const inline: Record<string, string> = {};
  if (style.inverse) {
    [fg, bg] = [bg ?? 'background', fg ?? 'foreground'];
  }
  for (const [kind, color] of [
    ['fg', fg],
    ['bg', bg],
  ] as const) {
    if (color === undefined) continue;
    if (typeof color === 'number') classes.push(`ansi-${kind}-${color}`);
    else if (color === 'background' || color === 'foreground') classes.push(`ansi-${kind}-${color}`);
    else inline[kind === 'fg' ? 'color' : 'background-color'] = color;
  }
  if (style.bold) classes.push('ansi-bold');
  if (style.dim) classes.push('ansi-dim');
  if (style.italic) classes.push('ansi-italic');
  if (style.underline) classes.push('ansi-underline');
  if (style.strike) classes.push('ansi-strike');
  return { class: classes.join(' '), style: inline };
}
