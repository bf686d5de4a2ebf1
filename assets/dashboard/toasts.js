/* Notifications in the corner: info and success ones go away by themselves, warnings and errors
 * stay until dismissed. At most five are shown. */

import { AuthError } from './api.js';
import { $, el } from './dom.js';

const TOAST_MS = 8000;
const MAX_TOASTS = 5;

/** link: an optional { href, label } shown under the message (e.g. to the Issues page). */
export function toast(kind, message, details = [], link = null) {
  const box = $('#toasts');
  const node = el('div', { class: 'toast', dataset: { kind } },
    el('p', { class: 'toast-message', text: message }));
  if (details.length) node.append(el('ul', { class: 'toast-details' }, details.map((d) => el('li', { text: d }))));
  if (link) node.append(el('a', { class: 'toast-link', href: link.href, text: link.label }));
  const close = () => node.remove();
  if (kind === 'warning' || kind === 'error') {
    node.append(el('button', { type: 'button', class: 'toast-close', onclick: close, 'aria-label': 'Dismiss notification' }, 'Close'));
  } else {
    setTimeout(close, TOAST_MS);
  }
  box.append(node);
  while (box.children.length > MAX_TOASTS) box.firstElementChild.remove();
}

/** An error toast for a failed request; silent for a 401 (the sign-in form says it) or an abort. */
export function reportError(prefix, err) {
  if (err instanceof AuthError || (err && err.name === 'AbortError')) return;
  toast('error', `${prefix} — ${err && err.message ? err.message : 'network error'}`);
}
