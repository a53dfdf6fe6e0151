// Focus across shadow roots.

/**
 * The focused element, looking inside open shadow roots: what to give the focus back to
 * after a dialog or a drawer closes (document.activeElement stops at the outermost host).
 */
export function deepActiveElement() {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
}
