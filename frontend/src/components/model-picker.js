import { css, html, LitElement } from 'lit';
import { live } from 'lit/directives/live.js';
import { I18nController, t } from '../i18n/index.js';
import { emit } from '../lib/events.js';
import { chosenModel, modelLabel, pickableModels } from '../lib/models.js';
import { sharedStyles } from '../styles/shared.js';

/**
 * The model a conversation's prompts go to, chosen among `models` (the `models` query): each
 * named, the default marked, and those that cannot answer now marked and not choosable.
 * `value` null means the default.
 *
 *   <model-picker .models=${models} .value=${conversation.model} ?disabled=${busy}></model-picker>
 *
 * @fires model-change - {model}: another model was chosen (its id)
 * @fires models-refresh - {}: the picker got the focus, a moment to read availability again
 */
export class ModelPicker extends LitElement {
  static properties = {
    models: { attribute: false },
    value: { type: String },
    disabled: { type: Boolean },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: inline-flex;
        min-width: 0;
      }
      select {
        max-width: 14rem;
        min-height: 2.25rem;
        padding: 0.3rem 0.5rem;
      }
      @media (max-width: 768px) {
        select {
          max-width: 8.5rem;
        }
      }
    `,
  ];

  constructor() {
    super();
    this.models = [];
    this.value = null;
    this.disabled = false;
    new I18nController(this);
  }

  render() {
    const chosen = chosenModel(this.models, this.value);
    return html`<label class="visually-hidden" for="model">${t('models.label')}</label>
      <select
        id="model"
        .value=${live(chosen ?? '')}
        ?disabled=${this.disabled}
        @focus=${() => emit(this, 'models-refresh')}
        @change=${(event) => emit(this, 'model-change', { model: event.target.value })}
      >
        ${pickableModels(this.models, chosen).map(
          (model) =>
            html`<option
              value=${model.id}
              ?selected=${model.id === chosen}
              ?disabled=${!model.available && model.id !== chosen}
            >
              ${modelLabel(model)}
            </option>`,
        )}
      </select>`;
  }
}

customElements.define('model-picker', ModelPicker);
