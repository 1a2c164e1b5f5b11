import type { FileEntry } from '@keel/contract/workspaces';
import type { DirectoryState, FileTreeStore } from './file-tree-store.ts';

/** One row of the tree as drawn: an entry, its depth and its place among its siblings (for ARIA). */
export interface TreeRow {
  entry: FileEntry;
  level: number;
  position: number;
  setSize: number;
}

/**
 * The rows on screen, in order: the root's entries and, under each open folder, its own. The tree is drawn
 * flat (with aria-level), which keeps arrow-key navigation a walk along one list.
 */
export function visibleRows(
  tree: Pick<FileTreeStore, 'directory' | 'isExpanded'>,
  dir = '',
  level = 1,
): TreeRow[] {
  const entries = tree.directory(dir)?.entries ?? [];
  const rows: TreeRow[] = [];
  entries.forEach((entry, index) => {
    rows.push({ entry, level, position: index + 1, setSize: entries.length });
    if (entry.type === 'directory' && tree.isExpanded(entry.path))
      rows.push(...visibleRows(tree, entry.path, level + 1));
  });
  return rows;
}

/**
 * What the tree's area shows for the root folder's state. The tree element (and so the id the toolbar's
 * aria-controls names) exists only for 'tree': an empty, loading or failed workspace shows a note instead.
 */
export function rootView(root: DirectoryState | undefined): 'loading' | 'failed' | 'empty' | 'tree' {
  if (root === undefined || (root.status === 'loading' && root.entries.length === 0)) return 'loading';
  if (root.status === 'error' && root.entries.length === 0) return 'failed';
  if (root.entries.length === 0) return 'empty';
  return 'tree';
}
