import { ApiError } from '../http/api-error.ts';

/** The Node-only directory client, loaded lazily so the workerd bundle never contains ldapts. */
export type DirectoryModule = typeof import('./ldap-directory.ts');
export type DirectoryLoader = () => Promise<DirectoryModule>;

/** The directory module, or the 501 that says the directory needs the Node edge. */
export async function loadDirectory(loader: DirectoryLoader | undefined): Promise<DirectoryModule> {
  if (!loader)
    throw new ApiError(
      'directory_needs_node',
      'Sign-in with a directory (LDAP) needs the Node edge; this edge runs in workerd, which has no raw TLS sockets for it',
    );
  return loader();
}
