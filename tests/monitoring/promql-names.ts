/**
 * The metric names a PromQL expression reads, by a plain scan (no PromQL parser in Node):
 * strings, label matchers, ranges, grouping clauses and Grafana variables are removed, and what
 * remains that looks like a name and is not called as a function or a keyword is a metric.
 */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'inf',
  'nan',
]);

export function metricNamesIn(expr: string): Set<string> {
  let e = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    // Grafana's variables: $name, ${name}, [[name]].
    .replace(/\$\{[^}]*\}|\$\w+|\[\[[^\]]*\]\]/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  // Grafana's label_values(metric, label): the second argument is a label, not a metric.
  e = e.replace(/\blabel_values\s*\(([^,)]*)(?:,[^)]*)?\)/g, ' $1 ');
  const names = new Set<string>();
  for (const m of e.matchAll(/(?<![\w.:])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = e.slice((m.index ?? 0) + m[0].length);
    if (/^\s*\(/.test(rest)) continue;
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return names;
}

/**
 * The `expr:` values of a Prometheus rule file: one-line scalars (plain or quoted) and block
 * scalars (`|`, `>`), which are all the shipped files use.
 */
export function ruleExpressions(yamlText: string): string[] {
  const lines = yamlText.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*(?:- )?)expr:\s*(.*)$/.exec(lines[i] ?? '');
    if (!m) continue;
    // The key's column: a block scalar's lines sit further right.
    const indent = (m[1] ?? '').length;
    const value = (m[2] ?? '').trim();
    if (/^[|>][+-]?$/.test(value)) {
      const block: string[] = [];
      while (i + 1 < lines.length) {
        const next = lines[i + 1] ?? '';
        if (next.trim() !== '' && next.length - next.trimStart().length <= indent) break;
        block.push(next);
        i++;
      }
      out.push(block.join('\n').trim());
    } else if (/^".*"$/.test(value)) out.push(JSON.parse(value));
    else if (/^'.*'$/.test(value)) out.push(value.slice(1, -1).replace(/''/g, "'"));
    else out.push(value);
  }
  return out;
}
