// Build and dev-server settings for Loupe's web UI.
//
// `npm run build` writes web/dist (index.html + hashed files under assets/), which louped serves
// at / from its `web_dir` setting, and for every other page path (the router's history mode).
// Asset URLs are therefore absolute (/assets/…): a page at /datasets/{id} must not look for
// /datasets/assets/….
//
// `npm run dev` serves the UI with hot reload and forwards /api to a running louped
// (LOUPE_API_URL, default http://127.0.0.1:8470, louped's default http_port), so the
// session cookie is same-origin exactly as in production.
import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

const apiTarget = process.env.LOUPE_API_URL ?? 'http://127.0.0.1:8470'

export default defineConfig({
  base: '/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    // NiiVue (the volume viewer's renderer, loaded only when a volume opens) is one ~900 kB chunk
    chunkSizeWarningLimit: 1000,
  },
  server: {
    proxy: {
      '/api': { target: apiTarget, changeOrigin: false },
    },
  },
  test: {
    environment: 'node',
    include: ['tests/**/*.test.ts'],
  },
})
