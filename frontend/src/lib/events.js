// Components talk upward with bubbling, composed events (they cross shadow roots).

/** Dispatch `name` with `detail` from `element`, up through every shadow root. */
export function emit(element, name, detail = {}) {
  element.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
}

/** Report an error to the app shell, which shows it (or goes back to login). */
export function emitError(element, error) {
  emit(element, 'api-error', { error });
}

/** Show a short, non-error message (e.g. "Copied"). */
export function emitNotice(element, message) {
  emit(element, 'notice', { message });
}
