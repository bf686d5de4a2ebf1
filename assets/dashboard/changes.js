/* The "Recent changes" panel, with "Show more". */

import { api } from './api.js';
import { $, el } from './dom.js';
import {
  capitalize, euro, fmtDate, fmtDateTime, humanize, orDash, parseTime, plainNumber, relTime, signedPct,
} from './format.js';
import { employeeHref } from './employees.js';
import { PAGE_SIZE, state } from './state.js';
import { reportError } from './toasts.js';

/** One line saying what changed, e.g. "Salary €2,577 → €2,709 (+5.1 %)". */
export function describeChange(c) {
  const from = (fmt) => `${fmt(c.old_value)} → ${fmt(c.new_value)}`;
  switch (c.change_type) {
    case 'salary_change': {
      const label = c.field === 'hour_wage' ? 'Hourly wage' : 'Salary';
      const pct = typeof c.change_percent === 'number' ? ` (${signedPct(c.change_percent)})` : '';
      return `${label} ${from(euro)}${pct}`;
    }
    case 'hours_change':
      return `${c.field === 'days_per_week' ? 'Days per week' : 'Hours'} ${from(plainNumber)}`;
    case 'contract_change':
      return c.business_impact === 'contract_renewal'
        ? `Contract renewed (${from(orDash)})`
        : `Contract ${from(orDash)}`;
    case 'employee_added': return 'Joined the company';
    case 'employee_removed': return 'Left the company';
    case 'status_change': return `Status ${from(orDash)}`;
    case 'personal_data_change':
      return c.field ? `Personal details updated (${humanize(c.field)})` : 'Personal details updated';
    default: return `${capitalize(humanize(c.field || c.change_type || 'change'))} ${from(orDash)}`;
  }
}

function renderChange(c) {
  const detected = parseTime(c.detected_at);
  return el('li', { class: 'change', dataset: { changeType: c.change_type || '', impact: c.business_impact || '' } },
    c.employee_name == null
      ? el('span', { class: 'change-name', text: 'Unknown employee' })
      : el('a', { class: 'change-name', href: employeeHref(c.employee_id), text: c.employee_name }),
    el('span', { class: 'change-desc', text: describeChange(c) }),
    el('span', { class: 'change-meta' },
      el('span', { class: 'change-date', text: `Effective ${fmtDate(c.effective_date)}` }),
      el('span', { class: 'change-detected', title: detected ? fmtDateTime(c.detected_at) : null },
        el('time', { datetime: c.detected_at || null, text: `detected ${relTime(c.detected_at)}` }))));
}

export async function loadChanges() {
  try {
    const { changes = [] } = await api(`/api/changes?limit=${state.changesLimit}`);
    $('#changes-list').replaceChildren(...changes.map(renderChange));
    $('#changes-empty').hidden = changes.length > 0;
    $('#show-more').hidden = changes.length < state.changesLimit;
  } catch (err) {
    reportError('Could not load recent changes', err);
  }
}

export function showMore() {
  state.changesLimit += PAGE_SIZE;
  loadChanges();
}
