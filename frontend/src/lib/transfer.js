// Export and import over HTTP beside GraphQL: GET /api/export, POST /api/import.
import { ApiError, errorFromGraphQL } from './errors.js';

/** The export's address: all conversations, or one, as json or markdown. */
export function exportUrl(format, conversationId = null) {
  const params = new URLSearchParams({ format });
  if (conversationId) params.set('conversation', conversationId);
  return `/api/export?${params}`;
}

/** The file name a Content-Disposition header gives, or `fallback`. */
export function filenameFrom(disposition, fallback) {
  const match = /filename="([^"]+)"/.exec(disposition ?? '');
  return match ? match[1] : fallback;
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body.errors?.length) return errorFromGraphQL(body.errors);
  } catch {
    // not JSON: said by the status below
  }
  return new ApiError(
    response.status === 413 ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR',
    `HTTP ${response.status}`,
  );
}

async function readAll(response, onProgress) {
  if (!response.body?.getReader) return response.blob();
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.byteLength;
    onProgress(received);
  }
  return new Blob(chunks, { type: response.headers.get('content-type') ?? '' });
}

/**
 * Download an export with the session's token, as a file the browser saves;
 * `onProgress(bytes)` follows what has arrived. Resolves to the file's name.
 */
export async function downloadExport({
  token,
  format,
  conversationId = null,
  onProgress = () => {},
  fetch = globalThis.fetch,
}) {
  let response;
  try {
    response = await fetch.call(globalThis, exportUrl(format, conversationId), {
      headers: { authorization: `Bearer ${token}` },
    });
  } catch (error) {
    throw new ApiError('NETWORK', error.message);
  }
  if (!response.ok) throw await errorOf(response);
  const blob = await readAll(response, onProgress);
  const name = filenameFrom(response.headers.get('content-disposition'), `export.${format}`);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  return name;
}

/**
 * Upload a file to POST /api/import; `onProgress(fraction)` follows the upload (0 to 1).
 * Resolves to the import report, or rejects with an ApiError.
 */
export function uploadImport({
  token,
  file,
  onProgress = () => {},
  XHR = globalThis.XMLHttpRequest,
}) {
  return new Promise((resolve, reject) => {
    const request = new XHR();
    request.open('POST', '/api/import');
    request.setRequestHeader('authorization', `Bearer ${token}`);
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener('error', () => reject(new ApiError('NETWORK', 'upload failed')));
    request.addEventListener('load', () => {
      let body = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        // said by the status below
      }
      if (request.status === 200 && body) resolve(body);
      else if (body?.errors?.length) reject(errorFromGraphQL(body.errors));
      else if (request.status === 413)
        reject(new ApiError('BAD_USER_INPUT', 'the file is too large'));
      else reject(new ApiError('INTERNAL_SERVER_ERROR', `HTTP ${request.status}`));
    });
    const form = new FormData();
    form.append('file', file);
    request.send(form);
  });
}
