import { onMount } from 'solid-js';

/** Each page names itself in the tab, which is also what a screen reader announces on navigation. */
export function usePageTitle(title: string): void {
  onMount(() => {
    document.title = `${title} · Keel`;
  });
}
