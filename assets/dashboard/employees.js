/* The employee search box: names containing what is typed (GET /api/employees?q=), paged by
 * cursor with "Show more"; each result links to the employee page (#/employees/<id>). */

import { api } from './api.js';
import { withCompany } from './company.js';
import { $, el } from './dom.js';
import { euro, fmtDate, orDash, plainNumber } from './format.js';
import { reportError } from './toasts.js';

const PAGE = 10;
const DEBOUNCE_MS = 250;

let timer = null;
let seq = 0;        // numbers searches: a late answer never replaces a newer one
let cursor = null;  // next_cursor of the last page shown
let query = '';

/** The link to an employee's page. */
export const employeeHref = (id) => `#/employees/${encodeURIComponent(id)}`;

/** "Fixed until 31 Mar 2027 · 32 h/week · €3,100/month" (what applies today), or "—". */
export function currentSummary(current) {
  if (!current) return '—';
  const parts = [];
  if (current.contract_duration) {
    const kind = current.contract_duration === 'permanent' ? 'Permanent' : 'Fixed';
    parts.push(current.contract_end_date ? `${kind} until ${fmtDate(current.contract_end_date)}` : kind);
  }
  if (typeof current.hours_per_week === 'number') parts.push(`${plainNumber(current.hours_per_week)} h/week`);
  if (typeof current.month_wage === 'number') parts.push(`${euro(current.month_wage)}/month`);
  else if (typeof current.hour_wage === 'number') parts.push(`${euro(current.hour_wage)}/hour`);
  return parts.length ? parts.join(' · ') : '—';
}

function renderResult(e) {
  return el('li', { class: 'employee-result', dataset: { id: e.id } },
    el('a', { class: 'employee-link', href: employeeHref(e.id), text: e.name }),
    el('span', { class: 'employee-meta', text: `${orDash(e.status)}${e.employee_number ? ` · #${e.employee_number}` : ''}` }),
    el('span', { class: 'employee-current', text: currentSummary(e.current) }));
}

async function search(more) {
  const mine = ++seq;
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (query) params.set('q', query);
  if (more && cursor) params.set('cursor', cursor);
  try {
    const page = await api(withCompany(`/api/employees?${params}`));
    if (mine !== seq) return;
    const items = page.employees.map(renderResult);
    if (more) $('#employee-results').append(...items);
    else $('#employee-results').replaceChildren(...items);
    cursor = page.next_cursor;
    $('#employees-more').hidden = !cursor;
    $('#employees-empty').hidden = $('#employee-results').children.length > 0;
  } catch (err) {
    reportError('Could not search the employees', err);
  }
}

/** Wires the search box (typing searches after a pause; Enter at once). */
export function initEmployeeSearch() {
  const input = $('#employee-q');
  const run = () => {
    clearTimeout(timer);
    query = input.value.trim().slice(0, 100);
    search(false);
  };
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(run, DEBOUNCE_MS); });
  $('#employee-search').addEventListener('submit', (event) => { event.preventDefault(); run(); });
  $('#employees-more').addEventListener('click', () => search(true));
}

/** The first page for the current search (after signing in, after a sync). */
export function loadEmployees() {
  search(false);
}
