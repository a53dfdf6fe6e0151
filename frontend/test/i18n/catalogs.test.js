// @vitest-environment node
import { expect, test } from 'vitest';
import en from '../../src/i18n/en.js';
import ptBR from '../../src/i18n/pt-BR.js';

const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

test('Portuguese has every English message and no other', () => {
  expect(Object.keys(ptBR).sort()).toEqual(Object.keys(en).sort());
});

test('each translation keeps the placeholders of the English message', () => {
  for (const [key, text] of Object.entries(en)) {
    expect(placeholders(ptBR[key]), key).toEqual(placeholders(text));
  }
});

test('no message is left empty', () => {
  for (const [key, text] of [...Object.entries(en), ...Object.entries(ptBR)]) {
    expect(text.trim(), key).not.toBe('');
  }
});
