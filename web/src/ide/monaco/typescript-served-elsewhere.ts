import type { Monaco } from './monaco-environment.ts';

type Model = ReturnType<Monaco['editor']['createModel']>;

let predicate: (model: Model) => boolean = () => false;

/**
 * Says which models the workspace's TypeScript language server answers for; the worker's hover,
 * completion, definitions and the rest (typescript-worker-features.ts) say nothing for those: it sees
 * only the open files, so its answers there are "any" beside the server's.
 */
export function setTypeScriptServedElsewhere(next: (model: Model) => boolean): void {
  predicate = next;
}

/** Whether a language server answers for this model in place of Monaco's TypeScript worker. */
export function typeScriptServedElsewhere(model: Model): boolean {
  return predicate(model);
}
