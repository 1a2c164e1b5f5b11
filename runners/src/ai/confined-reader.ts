import { ConfinedFsError } from '../files/confined-fs.ts';
import type { WorkspaceFiles } from '../files/workspace-files.ts';
import type { WorkspaceReader } from './context-builder.ts';

/** The file a request names may be this large; larger ones are refused rather than cut blindly. */
export const MAX_TARGET_BYTES = 2 * 1024 * 1024;
/** Files pulled in as context (imports, chat attachments) beyond this are skipped. */
export const MAX_CONTEXT_FILE_BYTES = 512 * 1024;

export class NotText extends Error {
  override name = 'NotText';
  constructor() {
    super('the file is not UTF-8 text');
  }
}

// ignoreBOM keeps a byte order mark in the text: a rewrite's diff must match the bytes on disk.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 text, or `NotText`. */
export function decodeText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new NotText();
  }
}

/**
 * The context builder's view of a workspace, through the confined file layer only: every path
 * is walked under the workspace root without following links, so neither a `..` nor a symlink
 * in an import can pull a host file into a prompt. Anything unreadable is simply absent.
 */
export function confinedReader(fs: WorkspaceFiles): WorkspaceReader {
  return {
    async readFile(path) {
      try {
        return decodeText(await fs.readFile(path, { maxBytes: MAX_CONTEXT_FILE_BYTES }));
      } catch (err) {
        if (err instanceof ConfinedFsError || err instanceof NotText) return undefined;
        throw err;
      }
    },
    async exists(path) {
      try {
        return (await fs.stat(path)).type === 'file';
      } catch (err) {
        if (err instanceof ConfinedFsError) return false;
        throw err;
      }
    },
  };
}
