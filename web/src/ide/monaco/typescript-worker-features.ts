import {
  CodeActionAdaptor,
  DefinitionAdapter,
  DocumentHighlightAdapter,
  FormatAdapter,
  FormatOnTypeAdapter,
  InlayHintsAdapter,
  LibFiles,
  OutlineAdapter,
  QuickInfoAdapter,
  ReferenceAdapter,
  RenameAdapter,
  SignatureHelpAdapter,
  SuggestAdapter,
} from 'monaco-editor/languages/features/typescript/languageFeatures.js';
import type { Monaco } from './monaco-environment.ts';
import { typeScriptServedElsewhere } from './typescript-served-elsewhere.ts';

type Model = ReturnType<Monaco['editor']['createModel']>;

/** The adapter, its `provide…` methods answering nothing for a model a language server serves. */
function gated<T extends object>(adapter: T): T {
  return new Proxy(adapter, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || typeof key !== 'string' || !key.startsWith('provide')) return value;
      return (model: Model, ...rest: unknown[]) =>
        typeScriptServedElsewhere(model) ? undefined : value.apply(target, [model, ...rest]);
    },
  });
}

/**
 * The mode's worker once the mode is set up: that happens when the language is first used, after an
 * import, so the first model's providers may be asked before it ("TypeScript not registered!").
 */
async function whenSetUp<T>(getWorker: () => Promise<T>, tries = 100): Promise<T> {
  try {
    return await getWorker();
  } catch (error) {
    if (tries <= 0) throw error;
    await new Promise((resolve) => setTimeout(resolve, 50));
    return whenSetUp(getWorker, tries - 1);
  }
}

/**
 * Monaco's TypeScript mode registers its worker's providers once, when the language is first used,
 * and never again, so turning them off later (`setModeConfiguration`) does nothing. Instead its own
 * registration is turned off before that, and the same adapters are registered here behind a gate
 * that a language server can close per model. Diagnostics stay with the mode (their options do
 * apply at once). Call before any TypeScript or JavaScript model exists.
 */
export function registerGatedTypeScriptWorkerFeatures(monaco: Monaco): void {
  const modes = [
    ['typescript', monaco.typescript.typescriptDefaults, monaco.typescript.getTypeScriptWorker],
    ['javascript', monaco.typescript.javascriptDefaults, monaco.typescript.getJavaScriptWorker],
  ] as const;
  for (const [language, defaults, getWorker] of modes) {
    defaults.setModeConfiguration({
      ...defaults.modeConfiguration,
      completionItems: false,
      hovers: false,
      documentSymbols: false,
      definitions: false,
      references: false,
      documentHighlights: false,
      rename: false,
      documentRangeFormattingEdits: false,
      signatureHelp: false,
      onTypeFormattingEdits: false,
      codeActions: false,
      inlayHints: false,
    });
    const worker = (...uris: unknown[]) =>
      whenSetUp(getWorker).then((get) => get(...(uris as Parameters<typeof get>)));
    const libFiles = new LibFiles(worker);
    type Provider<K extends keyof Monaco['languages']> = Monaco['languages'][K] extends (
      selector: never,
      provider: infer P,
    ) => unknown
      ? P
      : never;
    const as = <K extends keyof Monaco['languages']>(_: K, adapter: object) => gated(adapter) as Provider<K>;
    const l = monaco.languages;
    l.registerCompletionItemProvider(
      language,
      as('registerCompletionItemProvider', new SuggestAdapter(worker)),
    );
    l.registerSignatureHelpProvider(
      language,
      as('registerSignatureHelpProvider', new SignatureHelpAdapter(worker)),
    );
    l.registerHoverProvider(language, as('registerHoverProvider', new QuickInfoAdapter(worker)));
    l.registerDocumentHighlightProvider(
      language,
      as('registerDocumentHighlightProvider', new DocumentHighlightAdapter(worker)),
    );
    l.registerDefinitionProvider(
      language,
      as('registerDefinitionProvider', new DefinitionAdapter(libFiles, worker)),
    );
    l.registerReferenceProvider(
      language,
      as('registerReferenceProvider', new ReferenceAdapter(libFiles, worker)),
    );
    l.registerDocumentSymbolProvider(
      language,
      as('registerDocumentSymbolProvider', new OutlineAdapter(worker)),
    );
    l.registerRenameProvider(language, as('registerRenameProvider', new RenameAdapter(libFiles, worker)));
    l.registerDocumentRangeFormattingEditProvider(
      language,
      as('registerDocumentRangeFormattingEditProvider', new FormatAdapter(worker)),
    );
    l.registerOnTypeFormattingEditProvider(
      language,
      as('registerOnTypeFormattingEditProvider', new FormatOnTypeAdapter(worker)),
    );
    l.registerCodeActionProvider(language, as('registerCodeActionProvider', new CodeActionAdaptor(worker)));
    l.registerInlayHintsProvider(language, as('registerInlayHintsProvider', new InlayHintsAdapter(worker)));
  }
}
