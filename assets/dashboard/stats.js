/* The "Statistics" tiles. */

import { api } from './api.js';
import { withCompany } from './company.js';
import { $ } from './dom.js';
import { fmtCount, pctFmt, plural } from './format.js';
import { reportError } from './toasts.js';

export async function loadStats() {
  try {
    const stats = await api(withCompany('/api/stats'));
    for (const tile of document.querySelectorAll('#stats [data-stat]')) {
      const key = tile.dataset.stat;
      const v = stats[key];
      $('.value', tile).textContent = key === 'success_rate'
        ? (typeof v === 'number' ? pctFmt.format(v) : '—')
        : fmtCount(v);
    }
    const rateTile = $('#stats [data-stat="success_rate"]');
    rateTile.title = typeof stats.sessions_total === 'number' ? `of ${plural(stats.sessions_total, 'session')}` : '';
  } catch (err) {
    reportError('Could not load statistics', err);
  }
}
