/* The live progress panel: one row per session followed (a company may run two at once, e.g. a
 * full sync and a targeted retry), each with a bar per stage fed by that session's own event
 * stream. A row stays, with its result, after its session ends; the rows of ended sessions go
 * when a sync starts while none runs, so a sync never vanishes while another one runs. */

import { $, el } from './dom.js';
import { fmtCount, plural, statusLabel } from './format.js';

const STAGES = ['snapshot', 'history', 'changes'];
const SOURCES = { manual: 'Sync Now', api: 'API', scheduler: 'Schedule', webhook: 'Webhook', watch: 'Watch' };
let rowSeq = 0;

const rows = () => [...$('#progress-runs').children];
const rowOf = (id) => rows().find((row) => row.dataset.session === id) || null;

/** The row of session `id`: the one shown, else a new one of pending stages. */
export function progressRow(id) {
  const existing = rowOf(id);
  if (existing) return existing;
  if (!rows().some((row) => row.dataset.ended === 'false')) clearProgress();
  const n = ++rowSeq;
  const title = `run-title-${n}`;
  const stage = (name) => el('li', { class: 'stage', dataset: { stage: name, status: 'pending' } },
    el('div', { class: 'stage-head' },
      el('span', { class: 'stage-name', id: `run-${n}-${name}`, text: name.charAt(0).toUpperCase() + name.slice(1) }),
      el('span', { class: 'stage-status', text: 'Pending' })),
    el('progress', { max: '1', value: '0', 'aria-labelledby': `${title} run-${n}-${name}` }),
    el('span', { class: 'count', text: '0 / 0' }));
  const row = el('li', { class: 'run', dataset: { session: id, ended: 'false', status: 'running' }, 'aria-labelledby': title },
    el('div', { class: 'run-head' },
      el('span', { class: 'run-title', id: title, text: `Sync ${id.slice(0, 8)}` }),
      el('span', { class: 'run-result', text: 'Running…' })),
    el('ol', { class: 'stages' }, STAGES.map(stage)));
  $('#progress-runs').append(row);
  $('#progress').hidden = false;
  return row;
}

/** Names the row after its session: what it syncs and who asked ("Full sync · API"). */
export function describeRow(row, s) {
  const what = s.scope === 'employees' ? plural((s.employee_ids || []).length, 'employee') : 'Full sync';
  $('.run-title', row).textContent = `${what} · ${SOURCES[s.source] || s.source}`;
}

/** Shows the ended session's result in its row: its final status and its own figures. */
export function endRow(row, s) {
  describeRow(row, s);
  (s.stages || []).forEach((st) => updateStage(row, st));
  row.dataset.ended = 'true';
  row.dataset.status = s.status;
  const figures = s.status === 'failed'
    ? s.failure_reason || 'the sync failed'
    : `${plural(s.employees_processed || 0, 'employee')}, ${plural(s.changes_detected || 0, 'change')}`
      + (s.errors_count ? `, ${plural(s.errors_count, 'error')}` : '');
  $('.run-result', row).textContent = `${statusLabel(s.status)} — ${figures}`;
}

/** Empties and hides the panel (another company, signed out). */
export function clearProgress() {
  $('#progress-runs').replaceChildren();
  $('#progress').hidden = true;
}

/** Shows one progress event (or stage row) in `row`: { stage, status, processed, total }. */
export function updateStage(row, ev) {
  const item = row.querySelector(`[data-stage="${ev.stage}"]`);
  if (!item) return;
  const processed = Number(ev.processed) || 0;
  const total = Number(ev.total) || 0;
  const bar = $('progress', item);
  item.dataset.status = ev.status || 'pending';
  $('.stage-status', item).textContent = statusLabel(ev.status || 'pending');
  $('.count', item).textContent = `${fmtCount(processed)} / ${fmtCount(total)}`;
  if (total > 0) {
    bar.max = total;
    bar.value = Math.min(processed, total);
  } else if (ev.status === 'running') {
    bar.removeAttribute('value'); // indeterminate until the total is known
  } else {
    bar.max = 1;
    bar.value = ev.status === 'completed' || ev.status === 'completed_with_errors' ? 1 : 0;
  }
}
