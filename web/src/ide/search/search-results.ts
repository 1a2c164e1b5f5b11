import { SearchDone, SearchFileResult } from '@keel/contract/search';

/**
 * Gathers a search's `file` events: their data, joined, are lines of JSON, one file per line, and an
 * event may end inside a line (contract/streams.ts `searchResultsStream`), so the unfinished rest
 * waits for the next event. Files come in the order ripgrep finished them.
 */
export class SearchResults {
  readonly files: SearchFileResult[] = [];
  #rest = '';
  matches = 0;

  /** Adds one `file` event's data; returns the files it completed. */
  add(data: string): SearchFileResult[] {
    const lines = (this.#rest + data).split('\n');
    this.#rest = lines.pop() ?? '';
    const added: SearchFileResult[] = [];
    for (const line of lines) {
      if (!line) continue;
      try {
        const parsed = SearchFileResult.safeParse(JSON.parse(line));
        if (!parsed.success) continue;
        added.push(parsed.data);
        this.files.push(parsed.data);
        this.matches += parsed.data.matches.reduce((n, m) => n + Math.max(1, m.ranges.length), 0);
      } catch {
        // An unreadable line is skipped; the others stand.
      }
    }
    return added;
  }
}

/** The `done` event's data; an unreadable one still ends the search, saying so. */
export function parseDone(data: string): SearchDone {
  try {
    const parsed = SearchDone.safeParse(JSON.parse(data));
    if (parsed.success) return parsed.data;
  } catch {
    // Fall through.
  }
  return { matches: 0, files: 0, truncated: null, error: 'The server sent an unreadable end of the search' };
}

/** Comma- or newline-separated globs as typed in the panel ("src/**, *.ts"). */
export function splitGlobs(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((g) => g.trim())
    .filter(Boolean);
}
