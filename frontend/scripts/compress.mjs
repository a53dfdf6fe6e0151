// After `vite build`: a gzip copy beside each text file in dist/, which the API sends as it is
// to browsers that accept gzip (so nothing is compressed per request).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';

const TEXT = /\.(js|css|html|svg)$/;

function compress(directory) {
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) compress(path);
    else if (TEXT.test(name)) {
      writeFileSync(
        `${path}.gz`,
        gzipSync(readFileSync(path), { level: constants.Z_BEST_COMPRESSION }),
      );
    }
  }
}

compress(new URL('../dist', import.meta.url).pathname);
