import { html, LitElement } from 'lit';
import { sharedStyles } from '../styles/shared.js';

/**
 * A polite live region, not shown, through which the page tells screen-reader users what
 * they cannot see happen (an answer finished).
 *
 *   announcer.announce('Answer complete. Hello!');
 */
export class LiveAnnouncer extends LitElement {
  static properties = {
    _message: { state: true },
  };

  static styles = sharedStyles;

  constructor() {
    super();
    this._message = '';
  }

  /** Say `message`, even when it is the same as the last one. */
  async announce(message) {
    this._message = '';
    await this.updateComplete;
    this._message = message;
  }

  render() {
    return html`<div
      class="visually-hidden"
      role="status"
      aria-live="polite"
      aria-atomic="true"
      id="announcer"
    >
      ${this._message}
    </div>`;
  }
}

customElements.define('live-announcer', LiveAnnouncer);
