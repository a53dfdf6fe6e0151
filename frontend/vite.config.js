// Three entries: the chat page (index.html, small), the GraphiQL explorer (graphiql.html,
// big, loaded only at /graphql), and the page of a share link (shared.html, served at
// /s/<token>). graphql_api serves dist/: index.html at `/`, assets/* at
// `/assets/*`, graphiql.html at `GET /graphql` for browsers.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const apiUrl = process.env.API_URL ?? 'http://127.0.0.1:8000';

/**
 * GraphiQL's stylesheet embeds its fonts as data: URIs, which the API's CSP refuses
 * (`font-src 'self'`). Write each one out as a file next to the stylesheet instead.
 */
function fontsAsFiles() {
  const DATA_FONT = /url\((["']?)data:font\/([\w-]+);base64,([A-Za-z0-9+/=]+)\1\)/g;
  return {
    name: 'fonts-as-files',
    generateBundle(options, bundle) {
      for (const asset of Object.values(bundle)) {
        if (asset.type !== 'asset' || !asset.fileName.endsWith('.css')) continue;
        asset.source = String(asset.source).replace(DATA_FONT, (match, quote, format, data) => {
          const bytes = Buffer.from(data, 'base64');
          const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 10);
          const fileName = `assets/font-${hash}.${format === 'ttf' ? 'ttf' : format}`;
          if (!bundle[fileName]) this.emitFile({ type: 'asset', fileName, source: bytes });
          return `url(./${fileName.slice('assets/'.length)})`;
        });
      }
    },
  };
}

export default defineConfig({
  plugins: [fontsAsFiles()],
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
        shared: resolve(import.meta.dirname, 'shared.html'),
      },
    },
  },
  worker: { format: 'es' },
  server: {
    proxy: { '/graphql': { target: apiUrl, ws: true }, '/api': { target: apiUrl } },
  },
});
