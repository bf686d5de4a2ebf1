/* The Changes page's filters: type, employee (picked by name from GET /api/employees?q=), and
 * the days the changes were detected (from … until, both included). `onChange` is called with
 * the query they make whenever one of them changes. */

import { api } from './api.js';
import { $, el } from './dom.js';
import { reportError } from './toasts.js';

const DEBOUNCE_MS = 250;
const SUGGESTIONS = 8;

let chosen = null;   // { id, name } of the employee filtered on
let timer = null;
let seq = 0;         // numbers name searches: a late answer never replaces a newer one
let notify = () => {};

/** Midnight at the start of a `YYYY-MM-DD` day in the browser's time zone, `days` later, as RFC 3339. */
function dayStart(value, days = 0) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
  if (!m) return null;
  return new Date(+m[1], +m[2] - 1, +m[3] + days).toISOString();
}

/** The query of the filters as they are set: `type`, `employee_id`, `since`, `until`. */
export function filterQuery() {
  const q = new URLSearchParams();
  const type = $('#filter-type').value;
  if (type) q.set('type', type);
  if (chosen) q.set('employee_id', chosen.id);
  const since = dayStart($('#filter-from').value);
  const until = dayStart($('#filter-to').value, 1);
  if (since) q.set('since', since);
  if (until) q.set('until', until);
  return q;
}

/** The filters in words, for the line above the list: "salary changes of Anna de Vries, 1–31 Jan". */
export function filterSummary() {
  const parts = [];
  const type = $('#filter-type');
  if (type.value) parts.push(type.selectedOptions[0].textContent.toLowerCase());
  if (chosen) parts.push(`of ${chosen.name}`);
  const from = $('#filter-from').value;
  const to = $('#filter-to').value;
  if (from && to) parts.push(`detected ${from} to ${to}`);
  else if (from) parts.push(`detected from ${from}`);
  else if (to) parts.push(`detected until ${to}`);
  return parts.join(', ');
}

function closeOptions() {
  $('#filter-employee-options').hidden = true;
  $('#filter-employee-options').replaceChildren();
}

function choose(employee) {
  chosen = employee;
  $('#filter-employee').value = employee.name;
  closeOptions();
  $('#filter-employee').focus();
  notify();
}

async function suggest(text) {
  const mine = ++seq;
  try {
    const page = await api(`/api/employees?${new URLSearchParams({ q: text, limit: String(SUGGESTIONS) })}`);
    if (mine !== seq) return;
    const list = $('#filter-employee-options');
    const items = page.employees.map((e) => el('li', {},
      el('button', { type: 'button', class: 'picker-option', dataset: { id: e.id }, onclick: () => choose({ id: e.id, name: e.name }) }, e.name)));
    list.replaceChildren(...(items.length ? items : [el('li', { class: 'empty', text: 'No employee matches.' })]));
    list.hidden = false;
  } catch (err) {
    reportError('Could not search the employees', err);
  }
}

/** Arrow keys move between the input and the suggestions; Escape closes them. */
function onKey(event) {
  const options = [...document.querySelectorAll('#filter-employee-options .picker-option')];
  const at = options.indexOf(document.activeElement);
  if (event.key === 'ArrowDown' && options.length) {
    event.preventDefault();
    options[Math.min(at + 1, options.length - 1)].focus();
  } else if (event.key === 'ArrowUp' && at >= 0) {
    event.preventDefault();
    if (at === 0) $('#filter-employee').focus(); else options[at - 1].focus();
  } else if (event.key === 'Escape' && !$('#filter-employee-options').hidden) {
    event.preventDefault();
    closeOptions();
    $('#filter-employee').focus();
  }
}

/** Wires the filter form; `onChange()` runs when a filter changes. */
export function initChangesFilter(onChange) {
  notify = onChange;
  const input = $('#filter-employee');
  input.addEventListener('input', () => {
    clearTimeout(timer);
    const text = input.value.trim().slice(0, 100);
    if (chosen && text !== chosen.name) { chosen = null; notify(); }
    if (!text) { closeOptions(); return; }
    timer = setTimeout(() => suggest(text), DEBOUNCE_MS);
  });
  $('#changes-filter').addEventListener('keydown', onKey);
  for (const id of ['#filter-type', '#filter-from', '#filter-to']) $(id).addEventListener('change', () => notify());
  $('#changes-filter').addEventListener('submit', (event) => { event.preventDefault(); notify(); });
  $('#changes-filter').addEventListener('reset', () => {
    chosen = null;
    closeOptions();
    setTimeout(() => notify(), 0); // after the form has cleared its fields
  });
}
