// Unit tests of src/lib and src/controllers: no browser, a jsdom document where one is needed.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'jsdom',
    include: ['test/**/*.test.js'],
    // The Markdown tests render every prefix of their inputs: seconds, longer on a busy machine.
    testTimeout: 30_000,
  },
});
