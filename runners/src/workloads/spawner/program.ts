/*
 * Where the sandbox spawner's program is and what Node needs to run it. From the sources, main.ts
 * through tsx's loader; runners/bundle.mjs puts in place of this module the bundled file beside
 * the runner's (dist/keel-spawner.mjs), which plain Node runs.
 */
import { fileURLToPath } from 'node:url';

export function spawnerProgram(): { script: string; execArgv: string[] } {
  return {
    script: fileURLToPath(new URL('./main.ts', import.meta.url)),
    execArgv: ['--import', import.meta.resolve('tsx')],
  };
}
