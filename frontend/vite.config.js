// Two entries: the chat page (index.html, small) and the GraphiQL explorer (graphiql.html,
// big, loaded only at /graphql). graphql_api serves dist/ as described in ../README.md.
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const apiUrl = process.env.API_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  build: {
    target: 'es2022',
    // Inline data: URIs would be fine under the CSP (img-src data:) but fonts and workers
    // must be files, so keep everything as files for one simple rule.
    assetsInlineLimit: 0,
    // GraphiQL and Monaco are big by nature and only load at /graphql.
    chunkSizeWarningLimit: 3000,
    rollupOptions: {
      // React libraries under GraphiQL carry "use client" directives, meaningless in a bundle.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
      input: {
        index: resolve(import.meta.dirname, 'index.html'),
        graphiql: resolve(import.meta.dirname, 'graphiql.html'),
      },
    },
  },
  worker: { format: 'es' },
  server: {
    proxy: { '/graphql': { target: apiUrl, ws: true } },
  },
});
