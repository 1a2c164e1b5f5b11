/** One JSON line per event: info to stdout, warnings and errors to stderr. */
export function log(
  level: 'info' | 'warn' | 'error',
  msg: string,
  fields: Record<string, unknown> = {},
): void {
  const line = JSON.stringify({ level, msg, ...fields, at: new Date().toISOString() });
  if (level === 'info') console.log(line);
  else console.error(line);
}
