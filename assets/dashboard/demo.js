/* The "Demo data — built-in simulator" banner: shown on every page of the signed-in dashboard
 * while a company the caller sees is one of the built-in simulator's (`simulated`). */

import { AuthError, api } from './api.js';
import { $ } from './dom.js';
import { state } from './state.js';

/** Shows or hides the banner after asking which companies the caller sees. */
export async function loadDemoBanner() {
  try {
    const { companies } = await api('/api/companies?limit=500');
    if (!state.token) return;
    $('#demo-banner').hidden = !companies.some((c) => c.simulated);
  } catch (err) {
    if (!(err instanceof AuthError)) $('#demo-banner').hidden = true;
  }
}

export function hideDemoBanner() {
  $('#demo-banner').hidden = true;
}
