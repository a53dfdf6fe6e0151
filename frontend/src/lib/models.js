// The models people can pick (the `models` query: `{ id, contextLength, available, isDefault }`).
import { t } from '../i18n/index.js';

/** The model a conversation set to `value` (null: none chosen) sends its prompts to. */
export function chosenModel(models, value) {
  return value ?? models.find((model) => model.isDefault)?.id ?? null;
}

/** The models a picker set to `value` lists: those of the `models` query, and `value` too
 * when the gateway no longer serves it (so that the picker still shows what is set). */
export function pickableModels(models, value) {
  if (!value || models.some((model) => model.id === value)) return models;
  return [...models, { id: value, contextLength: null, available: false, isDefault: false }];
}

/** What "regenerate with…" offers for `post`: every model but the one that answered it. */
export function otherModels(models, post) {
  return models.filter((model) => model.id !== post.model);
}

/** A model as a list names it: "small (default)", "big (unavailable)". */
export function modelLabel(model) {
  const notes = [];
  if (model.isDefault) notes.push(t('models.default'));
  if (!model.available) notes.push(t('models.unavailable'));
  return notes.length ? `${model.id} (${notes.join(', ')})` : model.id;
}
