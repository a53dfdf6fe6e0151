import { describe, expect, test } from 'vitest';
import { setLanguage } from '../../src/i18n/index.js';
import { chosenModel, modelLabel, otherModels, pickableModels } from '../../src/lib/models.js';

const models = [
  { id: 'big', contextLength: 8192, available: true, isDefault: false },
  { id: 'small', contextLength: 2048, available: true, isDefault: true },
  { id: 'local', contextLength: null, available: false, isDefault: false },
];

describe('models', () => {
  test('a conversation without a model uses the default', () => {
    expect(chosenModel(models, null)).toBe('small');
    expect(chosenModel(models, 'big')).toBe('big');
    expect(chosenModel([], null)).toBeNull();
  });

  test('a model the gateway no longer serves is still listed while set, as unable to answer', () => {
    expect(pickableModels(models, 'big')).toBe(models);
    expect(pickableModels(models, null)).toBe(models);
    expect(pickableModels(models, 'retired').at(-1)).toEqual({
      id: 'retired',
      contextLength: null,
      available: false,
      isDefault: false,
    });
  });

  test('regenerate with… offers every model but the one that answered', () => {
    expect(otherModels(models, { model: 'small' }).map((model) => model.id)).toEqual([
      'big',
      'local',
    ]);
  });

  test('a model is named with whether it is the default and whether it can answer', () => {
    setLanguage('en');
    expect(models.map(modelLabel)).toEqual(['big', 'small (default)', 'local (cannot answer now)']);
  });
});
