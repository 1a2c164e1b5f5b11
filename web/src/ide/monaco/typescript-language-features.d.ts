/**
 * Monaco's own TypeScript worker adapters (the providers its TypeScript mode registers), which ship
 * without types: each is made from a function giving the worker for some models (and, for those
 * that open library files, a LibFiles made from that function).
 */
declare module 'monaco-editor/languages/features/typescript/languageFeatures.js' {
  type Worker = (...uris: unknown[]) => Promise<unknown>;
  type AdapterClass = new (worker: Worker) => object;
  type LibFilesAdapterClass = new (libFiles: object, worker: Worker) => object;
  export const LibFiles: new (worker: Worker) => object;
  export const SuggestAdapter: AdapterClass;
  export const SignatureHelpAdapter: AdapterClass;
  export const QuickInfoAdapter: AdapterClass;
  export const DocumentHighlightAdapter: AdapterClass;
  export const DefinitionAdapter: LibFilesAdapterClass;
  export const ReferenceAdapter: LibFilesAdapterClass;
  export const OutlineAdapter: AdapterClass;
  export const RenameAdapter: LibFilesAdapterClass;
  export const FormatAdapter: AdapterClass;
  export const FormatOnTypeAdapter: AdapterClass;
  export const CodeActionAdaptor: AdapterClass;
  export const InlayHintsAdapter: AdapterClass;
}
