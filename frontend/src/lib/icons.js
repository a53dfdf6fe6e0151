// Inline SVG icons (decorative: every button that shows one also has a text label).
import { svg } from 'lit';

const icon = (
  body,
) => svg`<svg class="icon" aria-hidden="true" focusable="false" viewBox="0 0 24 24"
  width="18" height="18" fill="none" stroke="currentColor" stroke-width="2"
  stroke-linecap="round" stroke-linejoin="round">${body}</svg>`;

export const icons = {
  menu: icon(svg`<path d="M4 6h16M4 12h16M4 18h16"/>`),
  plus: icon(svg`<path d="M12 5v14M5 12h14"/>`),
  pencil: icon(svg`<path d="M4 20h4L19 9l-4-4L4 16v4z"/>`),
  trash: icon(svg`<path d="M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3"/>`),
  search: icon(svg`<circle cx="11" cy="11" r="7"/><path d="M20 20l-3.5-3.5"/>`),
  send: icon(svg`<path d="M4 12l16-8-6 16-2-7-8-1z"/>`),
  stop: icon(svg`<rect x="6" y="6" width="12" height="12" rx="1"/>`),
  copy: icon(svg`<rect x="8" y="8" width="12" height="12" rx="2"/><path d="M16 8V4H4v12h4"/>`),
  check: icon(svg`<path d="M5 12l5 5L20 7"/>`),
  refresh: icon(svg`<path d="M20 11a8 8 0 1 0-2 5.3M20 4v7h-7"/>`),
  sliders: icon(
    svg`<path d="M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0"/><circle cx="16" cy="6" r="2"/><circle cx="10" cy="12" r="2"/><circle cx="18" cy="18" r="2"/>`,
  ),
  close: icon(svg`<path d="M6 6l12 12M18 6L6 18"/>`),
  warning: icon(svg`<path d="M12 3l10 18H2L12 3z"/><path d="M12 10v5M12 18v.5"/>`),
  stopped: icon(svg`<circle cx="12" cy="12" r="9"/><rect x="9" y="9" width="6" height="6"/>`),
  share: icon(
    svg`<circle cx="18" cy="5" r="3"/><circle cx="6" cy="12" r="3"/><circle cx="18" cy="19" r="3"/><path d="M8.6 10.5l6.8-4M8.6 13.5l6.8 4"/>`,
  ),
  pin: icon(svg`<path d="M9 4h6l-1 6 4 4H6l4-4-1-6zM12 14v6"/>`),
  sidebar: icon(svg`<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M9 4v16"/>`),
  arrowDown: icon(svg`<path d="M12 5v14M6 13l6 6 6-6"/>`),
  logout: icon(svg`<path d="M15 4h4v16h-4M10 8l-4 4 4 4M6 12h11"/>`),
};
