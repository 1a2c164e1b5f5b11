import { Brand } from './brand.tsx';

export function LoadingScreen() {
  return (
    <main class="loading-screen">
      <Brand />
      <p role="status" class="loading-text">
        <span class="spinner" aria-hidden="true" />
        Loading…
      </p>
    </main>
  );
}
