/** Reads one cookie from a `document.cookie`-style string; undefined when absent or empty. */
export function readCookie(cookieHeader: string, name: string): string | undefined {
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    if (raw === '') return undefined;
    try {
      return decodeURIComponent(raw);
    } catch {
      // A value that is not valid percent-encoding is still the exact value the server set.
      return raw;
    }
  }
  return undefined;
}
