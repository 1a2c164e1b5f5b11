import { Brand } from './brand.tsx';

export function LoadingScreen(props: { label?: string }) {
  return (
    <main class="loading-screen">
      <Brand />
      <p role="status" class="loading-text">
        <span class="spinner" aria-hidden="true" />
        {props.label ?? 'Loading…'}
      </p>
    </main>
  );
}
