import { readFileSync } from 'node:fs';

/**
 * Secrets from files (Compose and Kubernetes mount them; an environment variable leaks into
 * `docker inspect`, process listings and crash reports): for each known variable NAME, a
 * variable NAME_FILE names a file whose content, less one trailing newline, becomes NAME.
 * Setting both is refused, as an unreadable file is: silently preferring one would hide a
 * mistake in the deployment. Node only (workerd has no files: it gets bindings).
 */
export function withFileVariables(
  env: Record<string, string | undefined>,
  names: Iterable<string>,
): Record<string, string | undefined> {
  const out = { ...env };
  const problems: string[] = [];
  for (const name of names) {
    const path = env[`${name}_FILE`];
    if (path === undefined || path === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`  ${name}: set both ${name} and ${name}_FILE; keep one`);
      continue;
    }
    try {
      out[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      problems.push(`  ${name}_FILE: cannot read ${path} (${code})`);
    }
  }
  if (problems.length) throw new EnvFileError(`Invalid configuration:\n${problems.join('\n')}`);
  return out;
}

export class EnvFileError extends Error {
  override name = 'EnvFileError';
}
