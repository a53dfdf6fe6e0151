import { ContextConsumer } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { I18nController, t } from '../i18n/index.js';
import { subscriptionsContext } from '../lib/contexts.js';
import { sharedStyles } from '../styles/shared.js';

/**
 * A quiet line above the chat while the browser is offline or the answer stream's connection
 * is being made again; a quieter one while answers stream over HTTP because WebSocket is
 * blocked (they still arrive live: a note, not a warning); nothing otherwise.
 *
 *   <connection-banner></connection-banner>
 */
export class ConnectionBanner extends LitElement {
  static properties = {
    _online: { state: true },
    _connection: { state: true },
  };

  static styles = [
    sharedStyles,
    css`
      :host {
        display: block;
      }
      p {
        margin: 0;
        padding: 0.4rem 1rem;
        background: var(--warning-soft);
        color: var(--warning);
        text-align: center;
        font-size: 0.9rem;
      }
      p.note {
        background: none;
        color: var(--fg-muted);
        font-size: 0.8rem;
        padding-block: 0.2rem;
      }
    `,
  ];

  #client = null;

  constructor() {
    super();
    this._online = navigator.onLine;
    this._connection = 'idle';
    new I18nController(this);
    new ContextConsumer(this, {
      context: subscriptionsContext,
      subscribe: true,
      callback: (client) => this.#watch(client),
    });
  }

  connectedCallback() {
    super.connectedCallback();
    window.addEventListener('online', this.#onOnline);
    window.addEventListener('offline', this.#onOffline);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    window.removeEventListener('online', this.#onOnline);
    window.removeEventListener('offline', this.#onOffline);
    this.#watch(null);
  }

  render() {
    if (!this._online) return html`<p role="status">${t('connection.offline')}</p>`;
    if (this._connection === 'reconnecting') {
      return html`<p role="status">${t('connection.reconnecting')}</p>`;
    }
    if (this._connection === 'fallback') {
      return html`<p class="note" role="status">${t('connection.fallback')}</p>`;
    }
    return nothing;
  }

  #watch(client) {
    this.#client?.removeEventListener('status', this.#onStatus);
    this.#client = client;
    client?.addEventListener('status', this.#onStatus);
    this._connection = client?.status ?? 'idle';
  }

  #onStatus = (event) => (this._connection = event.detail);
  #onOnline = () => (this._online = true);
  #onOffline = () => (this._online = false);
}

customElements.define('connection-banner', ConnectionBanner);
