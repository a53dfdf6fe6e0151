import { ContextConsumer } from '@lit/context';
import { css, html, LitElement } from 'lit';
import { LANGUAGES, t } from '../i18n/index.js';
import { preferencesContext } from '../lib/contexts.js';
import { emit } from '../lib/events.js';
import { THEMES } from '../lib/preferences.js';
import { sharedStyles } from '../styles/shared.js';

/**
 * Theme (system, light, dark) and interface language, as the page's preferences have them.
 *
 *   <settings-menu></settings-menu>
 *
 * @fires preferences-change - {language} or {theme}: the reader chose one; the app shell
 *   applies it, remembers it, and passes it on
 */
export class SettingsMenu extends LitElement {
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

  #preferences = new ContextConsumer(this, { context: preferencesContext, subscribe: true });

  render() {
    const { language, theme: currentTheme } = this.#preferences.value ?? {};
    return html`
      <div class="field">
        <label for="theme">${t('settings.theme')}</label>
        <select
          id="theme"
          @change=${(event) => emit(this, 'preferences-change', { theme: event.target.value })}
        >
          ${THEMES.map(
            (theme) =>
              html`<option value=${theme} ?selected=${theme === currentTheme}>
                ${t(`theme.${theme}`)}
              </option>`,
          )}
        </select>
      </div>
      <div class="field">
        <label for="language">${t('settings.language')}</label>
        <select
          id="language"
          @change=${(event) => emit(this, 'preferences-change', { language: event.target.value })}
        >
          ${LANGUAGES.map(
            ({ code, label }) =>
              html`<option value=${code} lang=${code} ?selected=${code === language}>
                ${label}
              </option>`,
          )}
        </select>
      </div>
    `;
  }
}

customElements.define('settings-menu', SettingsMenu);
