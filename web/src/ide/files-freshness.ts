/**
 * When the IDE reads the workspace's files: first once it runs, and again whenever it runs after a
 * change of status, since the files may come from elsewhere (a restart, a move to another host, a
 * restore). Keyed on the time of the status's last change, not on `running` alone: a quick restore
 * goes stopping → starting → running between two status reads, so the IDE may only ever see
 * `running`, with a newer time.
 */
export type FilesAction = 'read' | 'read-again';

export function createFilesFreshness(): (running: boolean, changedAt: string) => FilesAction | undefined {
  let readAt: string | undefined;
  return (running, changedAt) => {
    if (!running || changedAt === readAt) return undefined;
    const first = readAt === undefined;
    readAt = changedAt;
    return first ? 'read' : 'read-again';
  };
}
