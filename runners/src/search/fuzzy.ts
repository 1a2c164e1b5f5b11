/*
 * Fuzzy matching of file paths for quick open, scored the way VS Code's quick open ranks them:
 * every query character must appear in order; a character scores more when it follows the one
 * matched before it, starts a word (after `/`, `_`, `-`, `.`, a space, or a lower-to-upper
 * case change), sits in the file's name rather than its folders, or has the query's exact case.
 * Among equal scores the shorter path wins. The best alignment is found by dynamic programming
 * over query × path (a greedy left-most match misses `fb` → `foo/bar.ts`'s word starts).
 */

export interface FuzzyQuery {
  /** Without whitespace, `\` as `/`. */
  readonly text: string;
  readonly lower: string;
}

export interface FuzzyMatch {
  score: number;
  /** UTF-16 indexes of the matched characters, ascending. */
  positions: number[];
}

const START = 8;
const AFTER_SEPARATOR = 7;
const WORD_START = 5;
const CONSECUTIVE = 5;
const IN_NAME = 2;
const SAME_CASE = 1;

export function fuzzyQuery(raw: string): FuzzyQuery {
  const text = raw.replace(/\s+/g, '').replace(/\\/g, '/');
  return { text, lower: text.toLowerCase() };
}

/** Scratch space reused across calls: quick open scores tens of thousands of paths per keystroke. */
let scores = new Float64Array(0);
let from = new Int32Array(0);

/** The best match of `query` in `path` (`lowerPath` its lower case), or undefined when it does not match. */
export function fuzzyMatch(query: FuzzyQuery, path: string, lowerPath: string): FuzzyMatch | undefined {
  const score = fuzzyScore(query, path, lowerPath);
  if (score === undefined) return undefined;
  return { score, positions: lastPositions(query.lower.length, path.length) };
}

/** The best positions of the last `fuzzyScore` call (its path `m` long), walked back from its end. */
let lastEnd = -1;
function lastPositions(n: number, m: number): number[] {
  if (n === 0) return [];
  const positions = new Array<number>(n);
  let at = lastEnd;
  for (let i = n - 1; i >= 0; i--) {
    positions[i] = at;
    at = from[i * m + at]!;
  }
  return positions;
}

/**
 * The score of the best match of `query` in `path`, or undefined: what ranking needs, without
 * the positions (read them with `fuzzyMatch` for the few shown).
 */
export function fuzzyScore(query: FuzzyQuery, path: string, lowerPath: string): number | undefined {
  const q = query.lower;
  const n = q.length;
  const m = path.length;
  if (n === 0) return 0;
  if (n > m) return undefined;
  // Cheap refusal first: most paths do not hold the query's characters in order.
  let k = 0;
  for (let j = 0; j < m && k < n; j++) if (lowerPath.charCodeAt(j) === q.charCodeAt(k)) k++;
  if (k < n) return undefined;

  const cells = n * m;
  if (scores.length < cells) {
    scores = new Float64Array(Math.max(cells, scores.length * 2));
    from = new Int32Array(scores.length);
  }
  const nameStart = path.lastIndexOf('/') + 1;
  const NONE = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const qc = q.charCodeAt(i);
    const row = i * m;
    const prevRow = row - m;
    // Best score of the previous row strictly left of j - 1, and where it was.
    let bestBefore = NONE;
    let bestBeforeAt = -1;
    for (let j = 0; j < m; j++) {
      if (i > 0 && j >= 2) {
        const s = scores[prevRow + j - 2]!;
        if (s > bestBefore) {
          bestBefore = s;
          bestBeforeAt = j - 2;
        }
      }
      if (lowerPath.charCodeAt(j) !== qc || j < i) {
        scores[row + j] = NONE;
        continue;
      }
      const own = charScore(path, j, nameStart, query.text.charCodeAt(i));
      if (i === 0) {
        scores[row + j] = own;
        from[row + j] = -1;
        continue;
      }
      const adjacent = j >= 1 ? scores[prevRow + j - 1]! + CONSECUTIVE : NONE;
      if (adjacent === NONE && bestBefore === NONE) {
        scores[row + j] = NONE;
      } else if (adjacent >= bestBefore) {
        scores[row + j] = own + adjacent;
        from[row + j] = j - 1;
      } else {
        scores[row + j] = own + bestBefore;
        from[row + j] = bestBeforeAt;
      }
    }
  }
  const last = (n - 1) * m;
  let best = NONE;
  let at = -1;
  for (let j = 0; j < m; j++) {
    if (scores[last + j]! > best) {
      best = scores[last + j]!;
      at = j;
    }
  }
  if (at < 0) return undefined;
  lastEnd = at;
  let score = best;
  // The file's name starts with the query: what someone typing a name wants first.
  if (lowerPath.startsWith(q, nameStart)) {
    const end = nameStart + n - 1;
    const named = scores[(n - 1) * m + end]! + 10;
    if (named >= best) {
      score = named;
      lastEnd = end;
    }
  }
  return score;
}

function charScore(path: string, j: number, nameStart: number, queryChar: number): number {
  let s = 1;
  const c = path.charCodeAt(j);
  if (c === queryChar) s += SAME_CASE;
  if (j >= nameStart) s += IN_NAME;
  if (j === 0) return s + START;
  const prev = path.charCodeAt(j - 1);
  if (prev === 47 /* / */) s += AFTER_SEPARATOR;
  else if (prev === 95 || prev === 45 || prev === 46 || prev === 32) s += WORD_START;
  else if (isUpper(c) && !isUpper(prev)) s += WORD_START;
  return s;
}

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

/** Orders matches best first: score, then the shorter path, then by name. */
export function compareMatches(
  a: { score: number; path: string },
  b: { score: number; path: string },
): number {
  return (
    b.score - a.score || a.path.length - b.path.length || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  );
}
