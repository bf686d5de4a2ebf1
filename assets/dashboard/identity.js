/* Who is signed in (GET /api/me) and what their role lets the page offer: elements marked
 * `data-role="operator"` (or "admin") are hidden for a lower role, and modules that draw
 * buttons ask `hasRole()` (router.js). The routes check the role themselves: this only keeps a
 * viewer from being offered a button that would answer 403. */

import { api } from './api.js';
import { $ } from './dom.js';
import { hasRole, setRole } from './router.js';
import { state } from './state.js';

let me = null;

export const currentUser = () => me;

/** Loads the caller and applies their role to the page. */
export async function loadIdentity() {
  me = await api('/api/me');
  applyRole(me.role);
  $('#signed-in-as').textContent = `${me.name} (${me.role})`;
  $('#signed-in-as').hidden = false;
  return me;
}

/** Forgets the caller (signing out): only what a viewer may see stays offered. */
export function clearIdentity() {
  me = null;
  applyRole(null);
  $('#signed-in-as').hidden = true;
}

function applyRole(role) {
  state.role = role; // upcoming.js asks it
  setRole(role);
  for (const node of document.querySelectorAll('[data-role]')) node.hidden = !hasRole(node.dataset.role);
}
