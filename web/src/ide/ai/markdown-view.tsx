import { createEffect, onCleanup } from 'solid-js';
import { codeText, colorizeCodeBlocks } from './code-colors.ts';
import { renderAnswer } from './markdown.ts';

/**
 * An answer rendered from Markdown. `renderAnswer` sanitizes what it renders, so its output is the only HTML
 * assigned here (and Monaco's colouring of its code blocks, sanitized the same way). Copy buttons in code blocks are handled by one listener on the container, since
 * the HTML is replaced as a streaming answer grows.
 */
export function MarkdownView(props: { source: string; class?: string }) {
  let element: HTMLDivElement | undefined;
  const resetTimers = new Set<ReturnType<typeof setTimeout>>();
  onCleanup(() => {
    for (const timer of resetTimers) clearTimeout(timer);
  });

  createEffect(() => {
    if (!element) return;
    element.innerHTML = renderAnswer(props.source);
    colorizeCodeBlocks(element);
  });

  async function onClick(event: MouseEvent): Promise<void> {
    const button =
      event.target instanceof Element ? event.target.closest<HTMLButtonElement>('.md-copy') : null;
    const code = button?.closest('.md-code')?.querySelector('code');
    if (!button || !code) return;
    let said: string;
    try {
      await navigator.clipboard.writeText(codeText(code));
      said = 'Copied';
    } catch {
      said = 'Copy failed';
    }
    button.textContent = said;
    const timer = setTimeout(() => {
      resetTimers.delete(timer);
      button.textContent = 'Copy';
    }, 1500);
    resetTimers.add(timer);
  }

  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: the clicks handled are those of the copy buttons inside, which are real buttons.
    // biome-ignore lint/a11y/noStaticElementInteractions: as above; the container itself does nothing.
    <div
      ref={element}
      class={`markdown${props.class ? ` ${props.class}` : ''}`}
      onClick={(event) => void onClick(event)}
    />
  );
}
