import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

export default defineConfig({
  // Pinned to this folder so `vite build` gives the same web/dist whether run from web/ or the repo root.
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [solid()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    // In development the API runs separately (wrangler dev or the Node entry); production serves both from one origin.
    proxy: { '/api': process.env.KEEL_API_ORIGIN ?? 'http://localhost:8787' },
  },
});
