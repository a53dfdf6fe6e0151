import { css, html, LitElement } from 'lit';
import { I18nController, LANGUAGES, language, setLanguage, t } from '../i18n/index.js';
import { applyTheme, loadTheme, THEMES } from '../lib/preferences.js';
import { sharedStyles } from '../styles/shared.js';

/**
 * Theme (system, light, dark) and interface language, applied at once and remembered.
 *
 *   <settings-menu></settings-menu>
 */
export class SettingsMenu extends LitElement {
  static properties = {
    _theme: { state: true },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
      }
      .field {
        display: flex;
        flex-direction: column;
        gap: 0.2rem;
        flex: 1 1 6rem;
        min-width: 0;
      }
      label {
        font-size: 0.8rem;
      }
      select {
        padding: 0.3rem 0.4rem;
      }
    `,
  ];

  constructor() {
    super();
    this._theme = loadTheme();
    new I18nController(this);
  }

  render() {
    const current = language();
    return html`
      <div class="field">
        <label for="theme">${t('settings.theme')}</label>
        <select id="theme" @change=${this.#onTheme}>
          ${THEMES.map(
            (theme) =>
              html`<option value=${theme} ?selected=${theme === this._theme}>
                ${t(`theme.${theme}`)}
              </option>`,
          )}
        </select>
      </div>
      <div class="field">
        <label for="language">${t('settings.language')}</label>
        <select id="language" @change=${(event) => setLanguage(event.target.value)}>
          ${LANGUAGES.map(
            ({ code, label }) =>
              html`<option value=${code} lang=${code} ?selected=${code === current}>
                ${label}
              </option>`,
          )}
        </select>
      </div>
    `;
  }

  #onTheme(event) {
    this._theme = event.target.value;
    applyTheme(this._theme);
  }
}

customElements.define('settings-menu', SettingsMenu);
