import { describe, expect, test, vi } from 'vitest';
import { ApiError } from '../../src/lib/errors.js';
import { downloadExport, exportUrl, filenameFrom, uploadImport } from '../../src/lib/transfer.js';

/** An XMLHttpRequest stand-in that answers `status` and `body` after reporting progress. */
function fakeXHR(status, body) {
  const made = [];
  class FakeXHR {
    constructor() {
      this.headers = {};
      this.listeners = {};
      this.upload = { addEventListener: (name, fn) => (this.uploadListener = fn) };
      made.push(this);
    }
    open(method, url) {
      this.method = method;
      this.url = url;
    }
    setRequestHeader(name, value) {
      this.headers[name] = value;
    }
    addEventListener(name, fn) {
      this.listeners[name] = fn;
    }
    send(form) {
      this.form = form;
      this.uploadListener({ lengthComputable: true, loaded: 50, total: 100 });
      this.status = status;
      this.responseText = typeof body === 'string' ? body : JSON.stringify(body);
      this.listeners.load();
    }
  }
  return { FakeXHR, made };
}

describe('export', () => {
  test('the address names the format and, for one, the conversation', () => {
    expect(exportUrl('json')).toBe('/api/export?format=json');
    expect(exportUrl('markdown', '7')).toBe('/api/export?format=markdown&conversation=7');
  });

  test('the file name comes from Content-Disposition', () => {
    expect(filenameFrom('attachment; filename="trip.md"', 'x')).toBe('trip.md');
    expect(filenameFrom(null, 'export.json')).toBe('export.json');
  });

  test('a download reports the bytes as they arrive and saves the named file', async () => {
    const chunks = [new TextEncoder().encode('{"a":'), new TextEncoder().encode('1}')];
    const body = new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    const fetch = vi.fn(async () => ({
      ok: true,
      status: 200,
      body,
      headers: new Headers({
        'content-type': 'application/json',
        'content-disposition': 'attachment; filename="conversations-2026-12-03.json"',
      }),
    }));
    const saved = vi.fn(() => 'blob:export');
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: saved, revokeObjectURL: () => {} }));
    const progress = [];
    const name = await downloadExport({
      token: 't',
      format: 'json',
      fetch,
      onProgress: (bytes) => progress.push(bytes),
    });
    expect(name).toBe('conversations-2026-12-03.json');
    expect(progress).toEqual([5, 7]);
    expect(await saved.mock.calls[0][0].text()).toBe('{"a":1}');
    vi.unstubAllGlobals();
  });

  test('a refused export throws the API error it carries', async () => {
    const fetch = vi.fn(async () => ({
      ok: false,
      status: 404,
      json: async () => ({
        errors: [{ message: 'conversation not found', extensions: { code: 'NOT_FOUND' } }],
      }),
    }));
    const error = await downloadExport({
      token: 't',
      format: 'json',
      conversationId: '9',
      fetch,
    }).catch((caught) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe('NOT_FOUND');
    expect(fetch.mock.calls[0][1].headers.authorization).toBe('Bearer t');
  });
});

describe('import', () => {
  test('uploads the file with the token and reports progress, then the report', async () => {
    const { FakeXHR, made } = fakeXHR(200, { format: 'chatgpt', imported: [], skipped: [] });
    const progress = [];
    const file = new Blob(['[]'], { type: 'application/json' });
    const report = await uploadImport({
      token: 'tok',
      file,
      onProgress: (fraction) => progress.push(fraction),
      XHR: FakeXHR,
    });
    expect(report.format).toBe('chatgpt');
    expect(progress).toEqual([0.5]);
    expect(made[0].method).toBe('POST');
    expect(made[0].url).toBe('/api/import');
    expect(made[0].headers.authorization).toBe('Bearer tok');
    expect(made[0].form.get('file')).toBeInstanceOf(Blob);
  });

  test('a refused file rejects with what the server said', async () => {
    const { FakeXHR } = fakeXHR(400, {
      errors: [{ message: 'the file is not JSON', extensions: { code: 'BAD_USER_INPUT' } }],
    });
    const error = await uploadImport({ token: 't', file: new Blob(['x']), XHR: FakeXHR }).catch(
      (caught) => caught,
    );
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toBe('the file is not JSON');
  });

  test('a body too large for the server is a clear error too', async () => {
    const { FakeXHR } = fakeXHR(413, 'request body too large');
    const error = await uploadImport({ token: 't', file: new Blob(['x']), XHR: FakeXHR }).catch(
      (caught) => caught,
    );
    expect(error.code).toBe('BAD_USER_INPUT');
  });
});
