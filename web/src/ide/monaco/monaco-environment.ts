import * as monaco from 'monaco-editor';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import CssWorker from 'monaco-editor/language/css/css.worker?worker';
import HtmlWorker from 'monaco-editor/language/html/html.worker?worker';
import JsonWorker from 'monaco-editor/language/json/json.worker?worker';
import TsWorker from 'monaco-editor/language/typescript/ts.worker?worker';
import { limitTypeScriptDiagnostics } from './typescript-diagnostics.ts';
import { registerGatedTypeScriptWorkerFeatures } from './typescript-worker-features.ts';

/**
 * Monaco's language services run in web workers. Vite bundles each `?worker` import as its own file served
 * from this origin, which the CSP's `worker-src 'self'` allows; Monaco's default would build blob: workers
 * from a script URL it guesses, which breaks under a bundler.
 */
self.MonacoEnvironment = {
  getWorker(_workerId: string, label: string): Worker {
    switch (label) {
      case 'json':
        return new JsonWorker();
      case 'css':
      case 'scss':
      case 'less':
        return new CssWorker();
      case 'html':
      case 'handlebars':
      case 'razor':
        return new HtmlWorker();
      case 'typescript':
      case 'javascript':
        return new TsWorker();
      default:
        return new EditorWorker();
    }
  },
};

limitTypeScriptDiagnostics(monaco);
registerGatedTypeScriptWorkerFeatures(monaco);

export { monaco };
export type Monaco = typeof monaco;
