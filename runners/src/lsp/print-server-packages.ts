/**
 * Prints the language-server packages the workspace image ships, with their dependencies, as this
 * host has them installed: `name<TAB>folder<TAB>version` a line (scripts/build-workspace-image
 * copies them into the image, so no registry is needed inside the build).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hostServerPackages } from './server-packages.ts';

const packages = hostServerPackages();
if (!packages) {
  console.error('the language servers are not installed on this host (npm ci in the repository)');
  process.exit(1);
}
for (const [name, dir] of [...packages].sort(([a], [b]) => a.localeCompare(b))) {
  const { version } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string };
  console.log(`${name}\t${dir}\t${version}`);
}
