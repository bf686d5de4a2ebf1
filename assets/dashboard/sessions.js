/* Sessions as rows and as a detail panel (its stages, and its errors in plain words with a
 * "Retry failed employees" button), used by the dashboard's "Session history" card (the
 * latest ten) and by the Sessions page (history.js: every session, filtered and paged). */

import { api } from './api.js';
import { $, el } from './dom.js';
import { errorText } from './advice.js';
import { withCompany } from './company.js';
import { capitalize, duration, fmtCount, fmtDateTime, humanize, orDash, plural, statusLabel } from './format.js';
import { employeeNames } from './names.js';
import { hasRole } from './router.js';
import { PAGE_SIZE, state } from './state.js';
import { reportError } from './toasts.js';

export const pill = (status) => el('span', { class: 'pill', dataset: { status: status || '' }, text: statusLabel(status) });

/** The columns of a sessions table: the heading (also each cell's label on a phone) and the
 *  cell. The dashboard's history and the Sessions page share them; the first cell is the row's
 *  button. */
const COLUMNS = [
  { label: 'Requested' },
  { label: 'Source', cell: (s) => humanize(s.source) || '—' },
  { label: 'Triggered by', cell: (s) => orDash(s.triggered_by), attrs: (s) => ({ class: 'ellipsis', title: s.triggered_by || null }) },
  { label: 'Status', cell: (s) => pill(s.status) },
  { label: 'Duration', cell: (s) => duration(s.started_at, s.completed_at) },
  { label: 'Employees', cell: (s) => fmtCount(s.employees_processed), num: true },
  { label: 'Changes', cell: (s) => fmtCount(s.changes_detected), num: true },
  { label: 'Errors', cell: (s) => fmtCount(s.errors_count), num: true },
];

/** An empty sessions table whose body (`tbodyId`) takes `sessionRow`s. */
export function sessionsTable(tbodyId) {
  const head = COLUMNS.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : null, text: c.label }));
  return el('table', { class: 'sessions-table' }, el('thead', {}, el('tr', {}, head)), el('tbody', { id: tbodyId }));
}

/** One row; `open(id)` shows its detail in the panel `panelId`. */
export function sessionRow(s, { open, panelId, selectedId }) {
  const button = el('button', { type: 'button', class: 'link-button', onclick: () => open(s.id),
    'aria-controls': panelId, 'aria-label': `Show details of the sync requested ${fmtDateTime(s.requested_at)}` },
  fmtDateTime(s.requested_at));
  const cells = COLUMNS.map((c) => el('td', { 'data-label': c.label, class: c.num ? 'num' : null, ...(c.attrs ? c.attrs(s) : {}) },
    c.cell ? c.cell(s) : button));
  const row = el('tr', { class: 'session', dataset: { id: s.id, status: s.status || '', source: s.source || '' } }, cells);
  row.addEventListener('click', (e) => { if (e.target !== button) open(s.id); });
  if (s.id === selectedId) row.classList.add('selected');
  return row;
}

// Quiet checks (watches that completed without finding anything) are hidden unless the
// "Show quiet checks" box is ticked.
export async function loadSessions() {
  const quiet = $('#show-quiet').checked ? '' : '&quiet=false';
  try {
    const { sessions = [] } = await api(withCompany(`/api/sync/sessions?limit=${PAGE_SIZE}${quiet}`));
    const open = (id) => showSessionDetail(id);
    $('#sessions').replaceChildren(...sessions.map((s) => sessionRow(s, { open, panelId: 'session-detail', selectedId: state.detailId })));
    $('#sessions-empty').hidden = sessions.length > 0;
  } catch (err) {
    reportError('Could not load session history', err);
  }
}

async function showSessionDetail(id) {
  state.detailId = id;
  markSelected('#sessions', id);
  try {
    await renderSessionDetail(await api(`/api/sync/sessions/${encodeURIComponent(id)}`));
    $('#session-detail').focus();
  } catch (err) {
    reportError('Could not load the session', err);
  }
}

export function markSelected(tbody, id) {
  for (const row of document.querySelectorAll(`${tbody} tr.session`)) row.classList.toggle('selected', row.dataset.id === id);
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

/** A session's errors in plain words: who (a link to the employee), what happened, what to do,
 *  and the technical message folded away. `names` maps employee ids to names. */
export function errorList(errors, names = new Map()) {
  if (!errors.length) return el('p', { class: 'empty', text: 'No errors.' });
  const more = errors.length - SHOWN_ERRORS;
  const items = errors.slice(0, SHOWN_ERRORS).map((e) => {
    const plain = errorText(e);
    const name = e.employee_id ? names.get(e.employee_id) : null;
    return el('li', { dataset: { code: e.code || '' } },
      el('span', { class: 'error-stage', text: capitalize(humanize(e.stage)) || 'Error' }),
      e.employee_id
        ? (name
          ? el('a', { class: 'error-employee', href: `#/employees/${encodeURIComponent(e.employee_id)}`, text: name })
          : el('span', { class: 'error-employee', text: 'an employee no longer stored' }))
        : null,
      el('span', { class: 'error-message', text: plain.text }),
      el('span', { class: 'error-advice', text: plain.advice }),
      el('details', { class: 'error-technical' }, el('summary', { text: 'Technical details' }),
        el('code', { text: `${e.code || 'error'}: ${e.message || 'unknown error'}` })));
  });
  const kinds = new Set(errors.slice(SHOWN_ERRORS).map((e) => errorText(e).text));
  const rest = more > 0
    ? el('p', { class: 'hint error-more', text: `… and ${plural(more, 'more error')}${kinds.size === 1 ? ' of the same kind' : ''}.` })
    : null;
  return el('div', {}, el('ul', { class: 'error-list' }, items), rest);
}

/** Errors listed one by one (with names); the rest are counted. */
const SHOWN_ERRORS = 20;

/** The employees a targeted retry would sync: those of the errors that a retry may fix. */
export const retryable = (errors) => [...new Set(errors.filter((e) => e.employee_id && errorText(e).retry).map((e) => e.employee_id))];

/** Starts a targeted sync of `ids` (operator); returns the session id, or null when it failed. */
export async function retryEmployees(companyId, ids) {
  try {
    const res = await api('/api/sync', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ company_id: companyId, employee_ids: ids.slice(0, 500) }),
    });
    return res.session_id;
  } catch (err) {
    reportError('Could not start the retry', err);
    return null;
  }
}

/** The "Retry failed employees" button (operators only; none when nothing is retryable). */
export function retryButton(session, onStarted) {
  const ids = retryable(session.errors || []);
  if (!ids.length || !hasRole('operator')) return null;
  const button = el('button', { type: 'button', class: 'btn btn-secondary btn-small retry-failed' },
    `Retry failed employees (${ids.length})`);
  button.addEventListener('click', async () => {
    button.disabled = true;
    const id = await retryEmployees(session.company_id, ids);
    button.disabled = false;
    if (id && onStarted) onStarted(id);
  });
  return button;
}

/** The detail of one session as the children of a panel; `close` hides it. */
export async function sessionDetailNodes(s, close, { names } = {}) {
  const meta = [
    ['Status', pill(s.status)], ['Source', humanize(s.source)], ['Triggered by', orDash(s.triggered_by)],
    ['Scope', s.scope === 'employees' ? `${plural((s.employee_ids || []).length, 'employee')}` : 'Full'],
    ['Requested', fmtDateTime(s.requested_at)], ['Duration', duration(s.started_at, s.completed_at)],
  ];
  if (s.failure_reason) meta.push(['Failure', s.failure_reason, 'wide']);
  const errors = s.errors || [];
  const known = names || await employeeNames(errors.map((e) => e.employee_id));
  return [
    el('div', { class: 'card-head' }, el('h3', { text: `Session ${String(s.id).slice(0, 8)}` }),
      el('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: close }, 'Close details')),
    el('dl', { class: 'detail-grid' }, meta.map(([k, v, cls]) => el('div', { class: cls }, el('dt', { text: k }), el('dd', {}, v)))),
    el('h4', { text: 'Stages' }), renderStagesTable(s.stages || []),
    el('div', { class: 'card-head' }, el('h4', { text: `Errors (${errors.length})` }), retryButton(s)),
    errorList(errors, known),
  ];
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

export async function renderSessionDetail(s) {
  const panel = $('#session-detail');
  panel.replaceChildren(...await sessionDetailNodes(s, closeSessionDetail));
  panel.hidden = false;
}
