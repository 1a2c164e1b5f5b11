import { nameProblem } from '../workspace-paths.ts';

/** `.keel/chats/2026-11-22.md`, by the local date: where a saved conversation goes unless told otherwise. */
export function defaultChatPath(now: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `.keel/chats/${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}.md`;
}

/** Why a path typed for the saved conversation cannot be used, or undefined when it can. */
export function chatFileProblem(path: string): string | undefined {
  return nameProblem(path.trim());
}
