import { z } from 'zod';

/**
 * Stream entry ids: `<ms>-<seq>`, as Redis makes them. The API hands them out as SSE event ids
 * and terminal `seq`s, and takes them back as `Last-Event-ID` / `lastSeq`. A leaf module (zod
 * only), because the stream kinds (`streams.ts`) import the schemas that use these ids.
 */
export const STREAM_ENTRY_ID = /^\d{1,20}-\d{1,20}$/;
export const StreamEntryId = z.string().regex(STREAM_ENTRY_ID);

/** Before every entry: a cursor here reads a stream from its start. */
export const STREAM_START = '0-0';

/** Where a client's cursor stands: its id when well-formed, else the stream's start. */
export function parseStreamCursor(lastId: string | null | undefined): string {
  return lastId && STREAM_ENTRY_ID.test(lastId) ? lastId : STREAM_START;
}

/**
 * Orders ids of the form `<ms>-<seq>` (Redis stream entry ids, which the API uses as event ids) or plain
 * digit strings. Numeric, not lexical: '10-0' comes after '9-0'. Negative when a is older than b.
 */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = '0', aSeq = '0'] = a.split('-');
  const [bMs = '0', bSeq = '0'] = b.split('-');
  return compareDigits(aMs, bMs) || compareDigits(aSeq, bSeq);
}

/** Compares non-negative integers written in decimal without converting (they can exceed 2^53). */
function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}
