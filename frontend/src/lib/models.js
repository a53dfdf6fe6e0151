// The models people can pick (the `models` query: `{ id, contextLength, available, isDefault }`).
import { t } from '../i18n/index.js';

/** The model a conversation set to `value` (null: none chosen) sends its prompts to. */
export function chosenModel(models, value) {
  return value ?? models.find((model) => model.isDefault)?.id ?? null;
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
