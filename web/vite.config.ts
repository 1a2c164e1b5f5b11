import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

export default defineConfig({
  // Pinned to this folder so `vite build` gives the same web/dist whether run from web/ or the repo root.
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [solid()],
  // Monaco's workers import modules of their own; only ES-module workers can be split like that.
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Monaco and its TypeScript worker are megabytes by nature and load only in the IDE; the sign-in page's
    // budget is checked by tests/e2e instead of by this generic warning.
    chunkSizeWarningLimit: 8000,
  },
  server: {
    // In development the API runs separately (wrangler dev or the Node entry); production serves both from one origin.
    // `ws` passes the terminal's WebSocket through too.
    proxy: { '/api': { target: process.env.KEEL_API_ORIGIN ?? 'http://localhost:8787', ws: true } },
  },
});
