/**
 * RFC 4515 escaping for values put into search filters: `*`, `(`, `)`, `\` and NUL become `\XX`,
 * so a typed username such as `*)(uid=*` matches itself and nothing else.
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (ch) => `\\${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Escapes raw bytes (a binary attribute such as objectGUID) as `\XX` each. */
export function escapeFilterBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
}

/** Fills `{{name}}` placeholders of a filter template, each value escaped. */
export function fillFilter(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
    const value = values[name];
    return value === undefined ? whole : escapeFilterValue(value);
  });
}

/** A DN in one spelling for comparison: lower case, no spaces around separators. */
export function normalizeDn(dn: string): string {
  return dn
    .trim()
    .toLowerCase()
    .replace(/\s*([,=+])\s*/g, '$1');
}
