import type { Monaco } from './monaco-environment.ts';
import { setTypeScriptServedElsewhere } from './typescript-served-elsewhere.ts';

/**
 * Monaco's TypeScript worker sees only the files open in the editor, so in a real project every
 * relative import is "Cannot find module" and everything typed from it is wrong. Until a language
 * service that knows the workspace's other files brings them back, semantic diagnostics are off;
 * syntax errors need no other file and still show.
 */
export function limitTypeScriptDiagnostics(monaco: Pick<Monaco, 'typescript'>): void {
  for (const defaults of [monaco.typescript.typescriptDefaults, monaco.typescript.javascriptDefaults]) {
    defaults.setDiagnosticsOptions({
      ...defaults.getDiagnosticsOptions(),
      noSemanticValidation: true,
      noSyntaxValidation: false,
    });
  }
}

/**
 * While the workspace's TypeScript language server is ready (on: false), the worker's own features
 * and diagnostics are off for the workspace's files (file:///workspace/...), so hovers, completions
 * and problems are not shown twice; when the server stops (on: true), they come back as
 * `limitTypeScriptDiagnostics` left them.
 */
export function setTypeScriptWorkerFeatures(monaco: Pick<Monaco, 'typescript'>, on: boolean): void {
  for (const defaults of [monaco.typescript.typescriptDefaults, monaco.typescript.javascriptDefaults]) {
    defaults.setDiagnosticsOptions({
      ...defaults.getDiagnosticsOptions(),
      noSemanticValidation: true,
      noSyntaxValidation: !on,
    });
  }
  setTypeScriptServedElsewhere(
    on ? () => false : (model) => model.uri.toString().startsWith('file:///workspace/'),
  );
}
