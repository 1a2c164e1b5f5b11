/*
 * The file agent's program (./program.ts with the confined file layer, bundled for Node 18) as
 * the JavaScript text the loader runs. runners/bundle.mjs builds it at bundle time and puts it in
 * place of this module; from the sources (tsx), it is built here on first use, with the same
 * function and esbuild.
 */
let built: Promise<string> | undefined;

export function agentProgram(): Promise<string> {
  built ??= import('../../../bundle.mjs').then((b) => b.buildAgentProgram());
  // A failed build is tried again by the next caller.
  built.catch(() => {
    built = undefined;
  });
  return built;
}
