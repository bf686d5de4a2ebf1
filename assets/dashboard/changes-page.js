/* The Changes page (#/changes): every recorded change, newest first, filtered (changes-filter.js),
 * a page of 50 at a time over the cursor API — "Show more", or scrolling down to it, loads the
 * next — and "Export CSV" of exactly the filtered list. */

import { api } from './api.js';
import { renderChange } from './changes.js';
import { filterQuery, filterSummary, initChangesFilter } from './changes-filter.js';
import { exportCsv } from './csv.js';
import { $ } from './dom.js';
import { plural } from './format.js';
import { reportError } from './toasts.js';

const PAGE = 50;

let cursor = null;   // next_cursor of the last page shown
let seq = 0;         // numbers loads: a late answer for old filters is dropped
let loading = false;
let shown = 0;
let observer = null;

function summarize(more) {
  const what = filterSummary();
  const count = more ? `The newest ${plural(shown, 'change')}` : plural(shown, 'change');
  $('#changes-summary').textContent = `${count}${what ? ` — ${what}` : ''}${more ? '; more below.' : '.'}`;
}

async function load(more) {
  if (more && (loading || !cursor)) return;
  const mine = ++seq;
  loading = true;
  const q = filterQuery();
  q.set('limit', String(PAGE));
  if (more) q.set('cursor', cursor);
  $('#changes-page-list').setAttribute('aria-busy', 'true');
  try {
    const page = await api(`/api/changes?${q}`);
    if (mine !== seq) return;
    const items = page.changes.map((c) => renderChange(c));
    if (more) $('#changes-page-list').append(...items);
    else $('#changes-page-list').replaceChildren(...items);
    shown = (more ? shown : 0) + items.length;
    cursor = page.next_cursor;
    $('#changes-page-more').hidden = !cursor;
    $('#changes-page-empty').hidden = shown > 0;
    summarize(Boolean(cursor));
  } catch (err) {
    reportError('Could not load the changes', err);
  } finally {
    if (mine === seq) loading = false;
    $('#changes-page-list').removeAttribute('aria-busy');
  }
}

/** The first page for the filters as they are now. */
const reload = () => { loading = false; cursor = null; load(false); };

function init() {
  initChangesFilter(reload);
  $('#changes-page-more').addEventListener('click', () => load(true));
  $('#changes-export').addEventListener('click', (event) => {
    exportCsv(`/api/changes?${filterQuery()}`, 'changes.csv', event.currentTarget);
  });
  // Infinite scroll: the next page loads when "Show more" comes into view.
  observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && !$('#changes-page').hidden) load(true);
  }, { rootMargin: '200px' });
  observer.observe($('#changes-page-more'));
}

/** The page, for the router (main.js registers it). */
export const changesPage = {
  name: 'changes',
  pattern: /^\/changes$/,
  element: '#changes-page',
  title: 'Changes',
  nav: 'Changes',
  navPath: '/changes',
  show() {
    if (!observer) init();
    reload();
  },
};
