// Styles every component adopts: form controls, buttons, the focus ring, screen-reader text.
import { css } from 'lit';

export const sharedStyles = css`
  :host {
    box-sizing: border-box;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  :focus-visible {
    outline: 3px solid var(--focus);
    outline-offset: 2px;
  }
  button,
  input,
  select,
  textarea {
    font: inherit;
    color: inherit;
  }
  button {
    cursor: pointer;
    border: 1px solid var(--border);
    background: var(--bg-raised);
    border-radius: 8px;
    padding: 0.4rem 0.75rem;
    min-height: 2.25rem;
  }
  button:hover:not(:disabled) {
    background: var(--bg-soft);
  }
  button:disabled {
    cursor: not-allowed;
    opacity: 0.55;
  }
  button.primary {
    background: var(--accent);
    border-color: var(--accent);
    color: var(--accent-fg);
  }
  button.primary:hover:not(:disabled) {
    background: var(--accent);
    filter: brightness(1.08);
  }
  button.danger {
    background: var(--danger);
    border-color: var(--danger);
    color: var(--bg);
  }
  button.quiet {
    border-color: transparent;
    background: transparent;
  }
  button.icon {
    padding: 0.25rem 0.5rem;
    min-width: 2.25rem;
  }
  input,
  select,
  textarea {
    background: var(--bg);
    border: 1px solid var(--border);
    border-radius: 8px;
    padding: 0.45rem 0.6rem;
  }
  label {
    font-size: 0.9rem;
    color: var(--fg-muted);
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    margin: -1px;
    padding: 0;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }
  .error-text {
    color: var(--danger);
  }
`;

// A modal dialog as every panel of the page shows it: raised, bordered, over a dimmed page.
// Each component sets its own size and padding.
export const dialogStyles = css`
  dialog {
    border: 1px solid var(--border);
    border-radius: var(--radius);
    background: var(--bg-raised);
    color: var(--fg);
  }
  dialog::backdrop {
    background: rgb(0 0 0 / 45%);
  }
`;

// A page of its own around one card (the login page, the forced password change): centred
// on a soft background. Each component sets the card's width.
export const cardPageStyles = css`
  :host {
    display: grid;
    place-items: center;
    min-height: 100%;
    padding: 1rem;
    background: var(--bg-soft);
  }
  main {
    background: var(--bg-raised);
    border: 1px solid var(--border);
    border-radius: var(--radius);
    padding: 1.5rem;
  }
  h1 {
    font-size: 1.4rem;
  }
  form {
    display: flex;
    flex-direction: column;
    gap: 0.9rem;
  }
`;
