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
