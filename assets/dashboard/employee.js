/* The employee page (#/employees/<id>): what applies today, wage and hours over time, the
 * contracts as a bar, their changes and milestones. The page is a route of its own: the
 * dashboard's cards are hidden while it shows. */

import { api, ApiError } from './api.js';
import { renderChange } from './changes.js';
import { $, el } from './dom.js';
import { capitalize, euro, fmtDate, fmtDateTime, humanize, orDash, plainNumber } from './format.js';
import { contractBar, wageHoursChart } from './timeline-chart.js';
import { reportError } from './toasts.js';

const MILESTONE_LABELS = {
  contract_ending: 'Contract ends',
  notice_due: 'Written notice due (aanzegplicht)',
  chain_limit: 'Last fixed contract of the chain',
  chain_exceeded: 'Chain exceeded: the contract is permanent by law',
  change_effective: 'Change takes effect',
};

let shownId = null;

/** The employee page, `#/employees/<id>` (registered in main.js; see router.js). */
export const employeePage = {
  name: 'employee',
  pattern: /^\/employees\/([0-9a-fA-F-]{36})$/,
  element: '#employee-page',
  title: 'Employee',
  show([, id]) { if (id !== shownId) loadEmployee(id); },
  hide() { shownId = null; },
};

/** Empties the page (signing out). */
export function hideEmployeePage() {
  shownId = null;
  $('#employee-content').replaceChildren();
}

const contractText = (c) => {
  const kind = c.contract_duration === 'permanent' ? 'Permanent' : capitalize(c.contract_duration || 'contract');
  return `${kind}: ${fmtDate(c.start_date)} – ${c.end_date ? fmtDate(c.end_date) : 'open-ended'}`;
};

function facts(e) {
  const c = e.current || {};
  const row = (label, value) => el('div', {}, el('dt', { text: label }), el('dd', { text: value }));
  const contract = c.contract_duration
    ? `${capitalize(c.contract_duration)}${c.contract_end_date ? ` until ${fmtDate(c.contract_end_date)}` : ''}`
    : '—';
  const wage = typeof c.month_wage === 'number' ? `${euro(c.month_wage)} a month`
    : typeof c.hour_wage === 'number' ? `${euro(c.hour_wage)} an hour` : '—';
  return el('dl', { class: 'status-grid employee-facts' },
    row('Contract', contract),
    row('Hours', typeof c.hours_per_week === 'number' ? `${plainNumber(c.hours_per_week)} a week` : '—'),
    row('Wage', wage));
}

const changeItem = (c) => renderChange(c, { name: 'type', absolute: true });

function milestoneItem(m) {
  return el('li', { class: 'milestone', dataset: { kind: m.kind, status: m.status } },
    el('span', { class: 'milestone-kind', text: MILESTONE_LABELS[m.kind] || capitalize(humanize(m.kind)) }),
    el('span', { class: 'milestone-due', text: `Due ${fmtDate(m.due_date)}` }),
    el('span', { class: 'pill', dataset: { status: m.status }, text: capitalize(m.status) }));
}

function render(e) {
  const t = e.timeline;
  const hasPeriods = t.salary.length + t.hours.length + t.contracts.length > 0;
  const chartLabel = `Wage and hours of ${e.name} over time: `
    + `${t.salary.length} salary periods, ${t.hours.length} periods of hours`;
  const barLabel = `Contracts of ${e.name}: ${t.contracts.map(contractText).join('; ') || 'none stored'}`;
  const history = hasPeriods
    ? [
      el('div', { class: 'legend' },
        el('span', { class: 'key wage', text: 'Wage' }), el('span', { class: 'key hours', text: 'Hours a week' })),
      wageHoursChart(t, { euro, plainNumber, label: chartLabel }),
      el('h3', { text: 'Contracts' }),
      el('div', { class: 'legend' },
        el('span', { class: 'key fixed', text: 'Fixed' }), el('span', { class: 'key permanent', text: 'Permanent' })),
      contractBar(t, { label: barLabel, describe: contractText }),
      el('ul', { class: 'contract-list' }, ...t.contracts.map((c) => el('li', { text: contractText(c) }))),
    ]
    : [el('p', { class: 'empty', text: 'No employment history is stored for this employee.' })];
  $('#employee-content').replaceChildren(
    el('section', { class: 'card', 'aria-labelledby': 'employee-name' },
      el('div', { class: 'card-head' },
        el('h2', { id: 'employee-name', text: e.name }),
        el('span', { class: 'pill', dataset: { status: e.status === 'active' ? 'completed' : 'queued' }, text: capitalize(orDash(e.status)) })),
      el('p', { class: 'hint', text: `${e.employee_number ? `Employee #${e.employee_number} · ` : ''}updated ${fmtDateTime(e.updated_at)}`
        + `${e.removed_at ? ` · no longer listed by Employes since ${fmtDateTime(e.removed_at)}` : ''}` }),
      facts(e)),
    el('section', { class: 'card', 'aria-labelledby': 'history-title' },
      el('h2', { id: 'history-title', text: 'Wage and hours over time' }), ...history),
    el('section', { class: 'card', 'aria-labelledby': 'employee-changes-title' },
      el('h2', { id: 'employee-changes-title', text: 'Changes' }),
      e.changes.length
        ? el('ul', { id: 'employee-changes', class: 'changes' }, ...e.changes.map(changeItem))
        : el('p', { class: 'empty', text: 'No changes recorded.' })),
    el('section', { class: 'card', 'aria-labelledby': 'employee-milestones-title' },
      el('h2', { id: 'employee-milestones-title', text: 'Milestones' }),
      e.milestones.length
        ? el('ul', { id: 'employee-milestones', class: 'milestones' }, ...e.milestones.map(milestoneItem))
        : el('p', { class: 'empty', text: 'No milestones.' })));
  document.title = `${e.name} — Employes sync`;
}

async function loadEmployee(id) {
  shownId = id;
  $('#employee-content').replaceChildren(el('p', { class: 'empty', text: 'Loading…' }));
  try {
    const e = await api(`/api/employees/${encodeURIComponent(id)}`);
    if (shownId !== id) return;
    render(e);
    $('#employee-back').focus();
  } catch (err) {
    if (shownId !== id) return;
    const missing = err instanceof ApiError && err.status === 404;
    $('#employee-content').replaceChildren(el('section', { class: 'card' },
      el('p', { class: 'empty', text: missing ? 'This employee is not stored (or was erased).' : 'The employee could not be loaded.' })));
    if (!missing) reportError('Could not load the employee', err);
  }
}

