import { defineConfig } from 'vite';

// Run from the repository root (`npm run build:console`): console/ in, dist/console-ui/ out.
// dist/console/ already holds the compiled src/console/ server code, hence the -ui suffix.
export default defineConfig({
  root: 'console',
  base: '/',
  publicDir: 'public',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // `npx vite --config console/vite.config.mts` for a live-reloading console against `npm start` on :3000.
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
  build: {
    outDir: '../dist/console-ui',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // No inlined assets: the page's CSP allows files from this origin only.
    assetsInlineLimit: 0,
  },
});
