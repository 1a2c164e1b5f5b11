const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LF = 0x0a;
const CR = 0x0d;
/** What every line break inside the data becomes: the end of one `data:` line and the start of the next. */
const BREAK = encoder.encode('\ndata: ');
const END = encoder.encode('\n\n');

export interface SseEvent {
  id: string;
  event: string;
  data: Uint8Array;
}

/** An SSE frame as text; every line break in the data (CR, LF or CRLF) starts another `data:` line. */
export function sseFrame(id: string, event: string, data: string): string {
  return `id: ${id}\nevent: ${event}\ndata: ${data.replace(/\r\n|\r|\n/g, '\ndata: ')}\n\n`;
}

/** Line-break offsets of the batch being framed: plain numbers, reused from call to call. */
let breaks = new Int32Array(16_384);

/**
 * The same frames as `sseFrame`, byte for byte, built from output that is already UTF-8:
 * no decoding into a string and encoding back, which cost an output stream most of its
 * CPU. One pass finds the line breaks, the next copies the data into one buffer sized for
 * the whole batch and moves each line into place: no object per line. Data with a CR
 * (rare: progress bars) takes the text path.
 */
export function sseFrames(events: SseEvent[]): Uint8Array {
  const heads: Uint8Array[] = [];
  /** Per event: where its breaks start in `breaks`, and how many; -1 for the text path. */
  const first: number[] = [];
  const count: number[] = [];
  let n = 0;
  let size = 0;
  for (const { id, event, data } of events) {
    if (data.indexOf(CR) !== -1) {
      const whole = encoder.encode(sseFrame(id, event, decoder.decode(data)));
      heads.push(whole);
      first.push(-1);
      count.push(0);
      size += whole.length;
      continue;
    }
    const head = encoder.encode(`id: ${id}\nevent: ${event}\ndata: `);
    const from = n;
    for (let lf = data.indexOf(LF); lf !== -1; lf = data.indexOf(LF, lf + 1)) {
      if (n === breaks.length) {
        const grown = new Int32Array(n * 2);
        grown.set(breaks);
        breaks = grown;
      }
      breaks[n++] = lf;
    }
    heads.push(head);
    first.push(from);
    count.push(n - from);
    size += head.length + data.length + (n - from) * (BREAK.length - 1) + END.length;
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (let i = 0; i < events.length; i++) {
    const head = heads[i]!;
    out.set(head, pos);
    pos += head.length;
    if (first[i] === -1) continue;
    const data = events[i]!.data;
    // The data goes in whole, then each line moves right to make room for the `data: `
    // before it, last line first so that nothing is overwritten before it moved.
    out.set(data, pos);
    const grow = BREAK.length - 1;
    const base = first[i]!;
    const lines = count[i]!;
    let end = data.length;
    for (let k = lines - 1; k >= 0; k--) {
      const lf = breaks[base + k]!;
      const to = pos + lf + 1 + grow * (k + 1);
      out.copyWithin(to, pos + lf + 1, pos + end);
      for (let j = 0, at = to - BREAK.length; j < BREAK.length; j++) out[at + j] = BREAK[j]!;
      end = lf;
    }
    pos += data.length + grow * lines;
    out.set(END, pos);
    pos += END.length;
  }
  return out;
}
