import { createSignal, type JSX, onCleanup, onMount, Show } from 'solid-js';

/**
 * Shows its children only after `ms`. Wrapped around loading indicators so fast answers never flash a
 * spinner, while anything slower than a moment still shows that work is going on.
 */
export function Delayed(props: { ms?: number; children: JSX.Element }) {
  const [visible, setVisible] = createSignal(false);
  onMount(() => {
    const timer = setTimeout(() => setVisible(true), props.ms ?? 300);
    onCleanup(() => clearTimeout(timer));
  });
  return <Show when={visible()}>{props.children}</Show>;
}
