/** The Keel mark and name. The SVG is decorative: the visible word carries the name for screen readers. */
export function Brand() {
  return (
    <span class="brand">
      <svg class="brand-mark" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
        <rect width="32" height="32" rx="8" fill="currentColor" />
        <path d="M8 12h16l-3 9a3 3 0 0 1-2.8 2h-4.4A3 3 0 0 1 11 21z" fill="var(--surface)" />
        <path d="M16 6v6" stroke="var(--surface)" stroke-width="2.5" stroke-linecap="round" />
      </svg>
      <span class="brand-name">Keel</span>
    </span>
  );
}
