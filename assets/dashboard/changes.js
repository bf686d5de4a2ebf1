/* Changes in plain words (one line each, shared by the dashboard's "Recent changes", the Changes
 * page and the employee page), and the "Recent changes" panel with "Show more". */

import { api } from './api.js';
import { $, el } from './dom.js';
import {
  capitalize, euro, fmtDate, fmtDateTime, humanize, orDash, parseTime, plainNumber, relTime, signedPct,
} from './format.js';
import { withCompany } from './company.js';
import { employeeHref } from './employees.js';
import { PAGE_SIZE, state } from './state.js';
import { reportError } from './toasts.js';

/** What kind of personal detail a field is, and its name in words. The values themselves are
 *  never stored (only a digest), so the line says what changed, not to what. */
const PERSONAL = {
  first_name: ['Name', 'first name'], surname: ['Name', 'surname'], surname_prefix: ['Name', 'surname prefix'],
  initials: ['Name', 'initials'], gender: ['Gender', null], date_of_birth: ['Date of birth', null],
  email: ['Contact details', 'e-mail address'], phone_number: ['Contact details', 'phone number'],
  street: ['Address', 'street'], housenumber: ['Address', 'house number'], zipcode: ['Address', 'postcode'],
  city: ['Address', 'city'], country_code: ['Address', 'country'], iban: ['Bank account', 'IBAN'],
};

/** "Address changed: city", "Bank account changed: IBAN", "Date of birth changed". */
export function personalText(field) {
  const [kind, name] = PERSONAL[field] || ['Personal details', field ? humanize(field) : null];
  return `${kind} changed${name ? `: ${name}` : ''}`;
}

const isTermination = (c) => c.business_impact === 'terminated';

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
    case 'employee_removed': return 'Left the company (no longer listed by Employes)';
    case 'status_change':
      return isTermination(c) ? `Left the company (status ${from(orDash)})` : `Status ${from(orDash)}`;
    case 'personal_data_change': return personalText(c.field);
    default: return `${capitalize(humanize(c.field || c.change_type || 'change'))} ${from(orDash)}`;
  }
}

/** When it takes effect: "Effective 1 Dec 2026", a termination's "Last day 30 Nov 2026", or ''
 *  when Employes gives no date (a personal detail, a record that is gone). */
export function effectiveText(c) {
  if (!c.effective_date) return '';
  return `${isTermination(c) ? 'Last day' : 'Effective'} ${fmtDate(c.effective_date)}`;
}

/** How it was found: "found in history at first sync" for the baseline's past transitions,
 *  else "detected 5 minutes ago" (`absolute`: "detected 1 Dec 2026, 10:00"). */
function detectedNode(c, absolute) {
  if (c.baseline) {
    return el('span', { class: 'change-detected baseline', title: `Recorded by the first sync, ${fmtDateTime(c.detected_at)}` },
      'found in history at first sync');
  }
  const detected = parseTime(c.detected_at);
  return el('span', { class: 'change-detected', title: detected ? fmtDateTime(c.detected_at) : null },
    el('time', { datetime: c.detected_at || null, text: `detected ${absolute ? fmtDateTime(c.detected_at) : relTime(c.detected_at)}` }));
}

/** A change as a list item. `name`: 'link' (the employee's name, linking to their page), or
 *  'type' (the change type, on the employee's own page). */
export function renderChange(c, { name = 'link', absolute = false } = {}) {
  const effective = effectiveText(c);
  let head;
  if (name === 'type') head = el('span', { class: 'change-name', text: capitalize(humanize(c.change_type)) });
  else if (c.employee_name == null) head = el('span', { class: 'change-name', text: 'Unknown employee' });
  else head = el('a', { class: 'change-name', href: employeeHref(c.employee_id), text: c.employee_name });
  return el('li', { class: 'change', dataset: { changeType: c.change_type || '', impact: c.business_impact || '', baseline: c.baseline ? 'true' : 'false' } },
    head,
    el('span', { class: 'change-desc', text: describeChange(c) }),
    el('span', { class: 'change-meta' },
      el('span', { class: 'change-date', text: effective, hidden: !effective }),
      detectedNode(c, absolute)));
}

export async function loadChanges() {
  try {
    const { changes = [] } = await api(withCompany(`/api/changes?limit=${state.changesLimit}`));
    $('#changes-list').replaceChildren(...changes.map((c) => renderChange(c)));
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
