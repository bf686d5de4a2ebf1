/* The "Session history" table and the detail panel of one session (its stages and errors). */

import { api } from './api.js';
import { $, el } from './dom.js';
import { capitalize, duration, fmtCount, fmtDateTime, humanize, orDash, plural, statusLabel } from './format.js';
import { PAGE_SIZE, state } from './state.js';
import { reportError } from './toasts.js';

const pill = (status) => el('span', { class: 'pill', dataset: { status: status || '' }, text: statusLabel(status) });

function renderSessionRow(s) {
  const open = () => showSessionDetail(s.id);
  const button = el('button', { type: 'button', class: 'link-button', onclick: open,
    'aria-controls': 'session-detail', 'aria-label': `Show details of the sync requested ${fmtDateTime(s.requested_at)}` },
  fmtDateTime(s.requested_at));
  const td = (label, content, props = {}) => el('td', { 'data-label': label, ...props }, content);
  const row = el('tr', { class: 'session', dataset: { id: s.id, status: s.status || '' } },
    td('Requested', button),
    td('Source', humanize(s.source) || '—'),
    td('Triggered by', orDash(s.triggered_by), { class: 'ellipsis', title: s.triggered_by || null }),
    td('Status', pill(s.status)),
    td('Duration', duration(s.started_at, s.completed_at)),
    td('Employees', fmtCount(s.employees_processed), { class: 'num' }),
    td('Changes', fmtCount(s.changes_detected), { class: 'num' }),
    td('Errors', fmtCount(s.errors_count), { class: 'num' }));
  row.addEventListener('click', (e) => { if (e.target !== button) open(); });
  if (s.id === state.detailId) row.classList.add('selected');
  return row;
}

// Quiet checks (watches that completed without finding anything) are hidden unless the
// "Show quiet checks" box is ticked.
export async function loadSessions() {
  const quiet = $('#show-quiet').checked ? '' : '&quiet=false';
  try {
    const { sessions = [] } = await api(`/api/sync/sessions?limit=${PAGE_SIZE}${quiet}`);
    $('#sessions').replaceChildren(...sessions.map(renderSessionRow));
    $('#sessions-empty').hidden = sessions.length > 0;
  } catch (err) {
    reportError('Could not load session history', err);
  }
}

async function showSessionDetail(id) {
  state.detailId = id;
  for (const row of document.querySelectorAll('#sessions tr.session')) {
    row.classList.toggle('selected', row.dataset.id === id);
  }
  try {
    renderSessionDetail(await api(`/api/sync/sessions/${encodeURIComponent(id)}`));
    $('#session-detail').focus();
  } catch (err) {
    reportError('Could not load the session', err);
  }
}

function renderStagesTable(stages) {
  const head = el('tr', {}, ['Stage', 'Status', 'Processed', 'Started', 'Completed'].map((h) => el('th', { scope: 'col', text: h })));
  const td = (label, content, cls) => el('td', { 'data-label': label, class: cls }, content);
  const rows = stages.map((st) => el('tr', { dataset: { stage: st.stage } },
    td('Stage', capitalize(humanize(st.stage))), td('Status', pill(st.status)),
    td('Processed', `${fmtCount(st.processed)} / ${fmtCount(st.total)}`, 'num'),
    td('Started', fmtDateTime(st.started_at)), td('Completed', fmtDateTime(st.completed_at))));
  return el('div', { class: 'table-wrap' }, el('table', { class: 'stages-table' }, el('thead', {}, head), el('tbody', {}, rows)));
}

function renderErrorList(errors) {
  if (!errors.length) return el('p', { class: 'empty', text: 'No errors.' });
  return el('ul', { class: 'error-list' }, errors.map((e) => el('li', {},
    el('span', { class: 'error-stage', text: capitalize(humanize(e.stage)) || 'Error' }),
    e.employee_id ? el('span', { class: 'error-employee', text: `employee ${e.employee_id}` }) : null,
    el('span', { class: 'error-message', text: e.message || 'unknown error' }))));
}

function closeSessionDetail() {
  const selected = $('#sessions tr.selected');
  $('#session-detail').hidden = true;
  state.detailId = null;
  if (selected) {
    selected.classList.remove('selected');
    $('button', selected).focus(); // return focus to where the user came from
  }
}

export function renderSessionDetail(s) {
  const panel = $('#session-detail');
  const close = el('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: closeSessionDetail }, 'Close details');
  const meta = [
    ['Status', pill(s.status)], ['Source', humanize(s.source)], ['Triggered by', orDash(s.triggered_by)],
    ['Scope', s.scope === 'employees' ? `${plural((s.employee_ids || []).length, 'employee')}` : 'Full'],
    ['Requested', fmtDateTime(s.requested_at)], ['Duration', duration(s.started_at, s.completed_at)],
  ];
  if (s.failure_reason) meta.push(['Failure', s.failure_reason, 'wide']);
  panel.replaceChildren(
    el('div', { class: 'card-head' }, el('h3', { text: `Session ${String(s.id).slice(0, 8)}` }), close),
    el('dl', { class: 'detail-grid' }, meta.map(([k, v, cls]) => el('div', { class: cls }, el('dt', { text: k }), el('dd', {}, v)))),
    el('h4', { text: 'Stages' }), renderStagesTable(s.stages || []),
    el('h4', { text: `Errors (${(s.errors || []).length})` }), renderErrorList(s.errors || []));
  panel.hidden = false;
}
