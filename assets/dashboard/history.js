/* The Sessions page (#/sessions): every session of the company, newest first, a page of 25 at
 * a time over the cursor API ("Show more"), filtered by source and status; quiet watch checks
 * (watches that found nothing) are hidden unless "Show quiet checks" is ticked. The filters
 * are kept in the address (#/sessions?source=watch&status=failed&quiet=1). */

import { api } from './api.js';
import { withCompany } from './company.js';
import { $ } from './dom.js';
import { onActivity } from './live.js';
import { markSelected, sessionDetailNodes, sessionRow } from './sessions.js';
import { reportError } from './toasts.js';

const PAGE = 25;
let cursor = null;
let seq = 0;
let selectedId = null;
let unsubscribe = null;

export const historyPage = {
  name: 'sessions',
  pattern: /^\/sessions(?:\?(.*))?$/,
  element: '#sessions-page',
  title: 'Sessions',
  nav: 'Sessions',
  navPath: '/sessions',
  show([, query]) {
    const params = new URLSearchParams(query || '');
    $('#history-source').value = params.get('source') || '';
    $('#history-status').value = params.get('status') || '';
    $('#history-quiet').checked = params.get('quiet') === '1';
    if (!unsubscribe) unsubscribe = onActivity(() => load(false));
    load(false);
  },
  hide() {
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
    selectedId = null;
    $('#history-detail').hidden = true;
  },
};

function filters() {
  const params = new URLSearchParams();
  if ($('#history-source').value) params.set('source', $('#history-source').value);
  if ($('#history-status').value) params.set('status', $('#history-status').value);
  if ($('#history-quiet').checked) params.set('quiet', '1');
  return params;
}

async function load(more) {
  const mine = ++seq;
  const f = filters();
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (f.get('source')) params.set('source', f.get('source'));
  if (f.get('status')) params.set('status', f.get('status'));
  if (!f.get('quiet')) params.set('quiet', 'false');
  if (more && cursor) params.set('cursor', cursor);
  try {
    const page = await api(withCompany(`/api/sync/sessions?${params}`));
    if (mine !== seq) return;
    const rows = page.sessions.map((s) => sessionRow(s, { open, panelId: 'history-detail', selectedId }));
    if (more) $('#history-rows').append(...rows);
    else $('#history-rows').replaceChildren(...rows);
    cursor = page.next_cursor;
    $('#history-more').hidden = !cursor;
    $('#history-empty').hidden = $('#history-rows').children.length > 0;
  } catch (err) {
    reportError('Could not load the sessions', err);
  }
}

async function open(id) {
  selectedId = id;
  markSelected('#history-rows', id);
  try {
    const s = await api(`/api/sync/sessions/${encodeURIComponent(id)}`);
    const panel = $('#history-detail');
    panel.replaceChildren(...await sessionDetailNodes(s, close));
    panel.hidden = false;
    panel.focus();
  } catch (err) {
    reportError('Could not load the session', err);
  }
}

function close() {
  const row = $('#history-rows tr.selected');
  $('#history-detail').hidden = true;
  selectedId = null;
  if (row) {
    row.classList.remove('selected');
    $('button', row).focus();
  }
}

/** Wires the filters (once): a change rewrites the address, which reloads the list. */
export function initHistory() {
  const apply = () => {
    const query = filters().toString();
    const target = `#/sessions${query ? `?${query}` : ''}`;
    if (location.hash !== target) location.hash = target;
    else load(false);
  };
  for (const id of ['#history-source', '#history-status', '#history-quiet']) $(id).addEventListener('change', apply);
  $('#history-filters').addEventListener('submit', (event) => { event.preventDefault(); apply(); });
  $('#history-more').addEventListener('click', () => load(true));
}
