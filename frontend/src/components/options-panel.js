import { ContextConsumer } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { formatNumber, I18nController, t } from '../i18n/index.js';
import { serverInfoContext } from '../lib/contexts.js';
import { emit } from '../lib/events.js';
import { sharedStyles } from '../styles/shared.js';

export const LENGTHS = { short: 256, medium: 1024, long: 2048 };
const FORMATS = ['PLAIN', 'MARKDOWN', 'BULLETS', 'JSON'];
const LANGUAGE_SUGGESTIONS = [
  'English',
  'Português',
  'Español',
  'Français',
  'Deutsch',
  'Italiano',
  '日本語',
  '中文',
];

/**
 * The conversation's instructions and the output options sent with each prompt.
 *
 *   <options-panel .instructions=${text} .options=${{ language, format, maxTokens }}
 *                  ?saving=${false} @instructions-save=${...} @options-change=${...}></options-panel>
 *
 * @fires instructions-save - {instructions}: Save instructions was pressed (trimmed text)
 * @fires options-change - {options}: the language, format, length or temperature changed;
 *   options is the whole set `{ language, format, maxTokens, temperature }`
 *
 * `dirty` says whether the instructions box holds text not saved yet.
 */
export class OptionsPanel extends LitElement {
  static properties = {
    instructions: { type: String },
    options: { attribute: false },
    saving: { type: Boolean },
    _draft: { state: true },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: block;
        border: 1px solid var(--border);
        border-radius: var(--radius);
        background: var(--bg-soft);
        padding: 0.75rem;
      }
      .field {
        display: flex;
        flex-direction: column;
        gap: 0.25rem;
      }
      textarea {
        min-height: 4.5rem;
        resize: vertical;
      }
      .row {
        display: flex;
        flex-wrap: wrap;
        gap: 0.75rem;
        margin-top: 0.75rem;
      }
      .row .field {
        flex: 1 1 9rem;
      }
      .save {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        margin-top: 0.4rem;
      }
      .note {
        font-size: 0.8rem;
        color: var(--fg-muted);
      }
    `,
  ];

  #serverInfo = new ContextConsumer(this, { context: serverInfoContext, subscribe: true });

  constructor() {
    super();
    this.instructions = '';
    this.options = {};
    this.saving = false;
    this._draft = '';
    new I18nController(this);
  }

  /** Whether the instructions box holds text not saved yet. */
  get dirty() {
    return this._draft.trim() !== (this.instructions ?? '').trim();
  }

  willUpdate(changed) {
    if (changed.has('instructions')) this._draft = this.instructions ?? '';
  }

  get #maxInstructions() {
    return this.#serverInfo.value?.maxInstructionsLength;
  }

  // The limit shown before it is reached (the box also stops at it).
  #renderCount() {
    const max = this.#maxInstructions;
    if (!max) return nothing;
    const count = Array.from(this._draft).length;
    return html`<span id="instructions-count" class="note count"
      >${t('options.instructionsCount', { count: formatNumber(count), max: formatNumber(max) })}</span
    >`;
  }

  render() {
    const { language = '', format = '', maxTokens = '', temperature = null } = this.options ?? {};
    const length = Object.entries(LENGTHS).find(([, tokens]) => tokens === maxTokens)?.[0] ?? '';
    const changed = this._draft !== (this.instructions ?? '');
    return html`
      <div class="field">
        <label for="instructions">${t('options.instructions')}</label>
        <textarea
          id="instructions"
          .value=${this._draft}
          placeholder=${t('options.instructionsPlaceholder')}
          maxlength=${this.#maxInstructions ?? nothing}
          aria-describedby="instructions-count"
          @input=${(event) => (this._draft = event.target.value)}
        ></textarea>
        ${this.#renderCount()}
        <div class="save">
          <button
            type="button"
            ?disabled=${!changed || this.saving}
            @click=${this.#saveInstructions}
          >
            ${t('options.saveInstructions')}
          </button>
          <span class="note">${t('options.instructionsNote')}</span>
        </div>
      </div>
      <div class="row">
        <div class="field">
          <label for="language">${t('options.language')}</label>
          <input
            id="language"
            list="languages"
            .value=${language}
            placeholder=${t('options.automatic')}
            @change=${(event) => this.#change({ language: event.target.value.trim() })}
          />
          <datalist id="languages">
            ${LANGUAGE_SUGGESTIONS.map((name) => html`<option value=${name}></option>`)}
          </datalist>
        </div>
        <div class="field">
          <label for="format">${t('options.format')}</label>
          <select id="format" @change=${(event) => this.#change({ format: event.target.value })}>
            <option value="" ?selected=${!format}>${t('options.automatic')}</option>
            ${FORMATS.map(
              (name) =>
                html`<option value=${name} ?selected=${format === name}>
                  ${t(`format.${name}`)}
                </option>`,
            )}
          </select>
        </div>
        <div class="field">
          <label for="length">${t('options.length')}</label>
          <select
            id="length"
            @change=${(event) => this.#change({ maxTokens: LENGTHS[event.target.value] ?? null })}
          >
            <option value="" ?selected=${!length}>${t('options.automatic')}</option>
            ${Object.keys(LENGTHS).map(
              (name) =>
                html`<option value=${name} ?selected=${length === name}>
                  ${t(`length.${name}`)}
                </option>`,
            )}
          </select>
        </div>
        <div class="field">
          <label for="temperature">${t('options.temperature')}</label>
          <input
            id="temperature"
            type="number"
            inputmode="decimal"
            min="0"
            max="2"
            step="0.1"
            .value=${temperature ?? ''}
            placeholder=${t('options.automatic')}
            aria-describedby="temperature-note"
            @change=${this.#changeTemperature}
          />
          <span class="note" id="temperature-note">${t('options.temperatureNote')}</span>
        </div>
      </div>
    `;
  }

  #changeTemperature(event) {
    const text = event.target.value.trim();
    const value = text === '' ? null : Math.min(2, Math.max(0, Number(text)));
    if (value !== null && Number.isNaN(value)) return;
    if (value !== null) event.target.value = String(value);
    this.#change({ temperature: value });
  }

  #saveInstructions() {
    emit(this, 'instructions-save', { instructions: this._draft.trim() });
  }

  #change(patch) {
    emit(this, 'options-change', { options: { ...this.options, ...patch } });
  }
}

customElements.define('options-panel', OptionsPanel);
