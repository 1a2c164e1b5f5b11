import type { JSX } from 'solid-js';
import { useRouter } from './router-context.ts';

export interface LinkProps {
  href: string;
  class?: string;
  /** Marks the link for the page being shown (aria-current="page"). */
  current?: boolean;
  ariaLabel?: string;
  children: JSX.Element;
}

/** An ordinary anchor that navigates in place, but leaves modified clicks (new tab, new window) to the browser. */
export function Link(props: LinkProps) {
  const router = useRouter();
  const onClick: JSX.EventHandler<HTMLAnchorElement, MouseEvent> = (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    router.navigate(props.href);
  };
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props.current ? 'page' : undefined}
      aria-label={props.ariaLabel}
      onClick={onClick}
    >
      {props.children}
    </a>
  );
}
