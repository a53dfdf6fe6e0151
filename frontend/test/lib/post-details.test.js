import { describe, expect, it } from 'vitest';
import { answeredAt, detailLines, seconds } from '../../src/lib/post-details.js';

const post = {
  createdAt: '2026-12-03T10:00:00.000Z',
  latencyMs: 2345,
  model: 'gemma-3',
  promptTokens: 12,
  completionTokens: 40,
};

describe('post details', () => {
  it('times the answer from the prompt and the latency', () => {
    expect(answeredAt(post)).toBe('2026-12-03T10:00:02.345Z');
    expect(answeredAt({ ...post, latencyMs: null })).toBeNull();
  });

  it('rounds seconds to one decimal', () => {
    expect(seconds(2345)).toBe(2.3);
    expect(seconds(0)).toBe(0);
    expect(seconds(undefined)).toBeNull();
  });

  it('lists the model, the tokens and the seconds, leaving out what is unknown', () => {
    expect(detailLines(post)).toEqual([
      ['post.details.model', { model: 'gemma-3' }],
      ['post.details.tokens', { prompt: 12, answer: 40 }],
      ['post.details.seconds', { seconds: 2.3 }],
    ]);
    expect(detailLines({ completionTokens: 5 })).toEqual([
      ['post.details.answerTokens', { answer: 5 }],
    ]);
    expect(detailLines({})).toEqual([]);
  });
});
