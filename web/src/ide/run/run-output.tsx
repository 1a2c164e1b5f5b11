import { createEffect, For, on } from 'solid-js';
import { ansiPresentation } from './ansi.ts';
import type { OutputChunk } from './run-store.ts';

/**
 * A command's output as styled text. It follows new output while scrolled to the bottom and stays put once
 * the person scrolls up to read, like a terminal.
 */
export function RunOutput(props: { chunks: readonly OutputChunk[]; label: string }) {
  let element: HTMLDivElement | undefined;
  let pinned = true;

  createEffect(
    on(
      () => props.chunks.length + (props.chunks[props.chunks.length - 1]?.text.length ?? 0),
      () => {
        if (element && pinned) element.scrollTop = element.scrollHeight;
      },
    ),
  );

  return (
    // Not live: a chatty command would drown a screen reader; the status line announces how it ended.
    <div
      ref={element}
      class="run-output"
      role="log"
      aria-live="off"
      aria-label={props.label}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard to be scrolled without a mouse.
      tabIndex={0}
      onScroll={() => {
        if (element) pinned = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
      }}
    >
      <For each={props.chunks}>
        {(chunk) => {
          const look = ansiPresentation(chunk.style);
          return (
            <span class={`${look.class}${chunk.stream === 'stderr' ? ' run-stderr' : ''}`} style={look.style}>
              {chunk.text}
            </span>
          );
        }}
      </For>
    </div>
  );
}
