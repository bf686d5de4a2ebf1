/* "All companies" (#/overview, chosen in the company switcher): per company its status, last
 * successful sync, open issues and milestones due within 90 days; a company's name opens its
 * dashboard. Sessions announced by the activity stream (live.js) refresh their company's row. */

import { api } from './api.js';
import { companyList, selectCompany, showingAll, withCompany } from './company.js';
import { $, el } from './dom.js';
import { fmtCount, fmtDateTime, relTime } from './format.js';
import { onActivity } from './live.js';
import { badgeOf } from './status.js';
import { reportError } from './toasts.js';

let unsubscribe = null;
let seq = 0;

export const overviewPage = {
  name: 'overview',
  pattern: /^\/overview$/,
  element: '#overview-page',
  title: 'All companies',
  show() {
    showingAll(true);
    if (!unsubscribe) unsubscribe = onActivity((ev) => loadRow(ev.company_id));
    loadOverview();
  },
  hide() {
    showingAll(false);
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
  },
};

/** Every page of a list (companies are few; milestones and issues of 90 days stay small). */
async function all(path, key, max = 10) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < max; i += 1) {
    const page = await api(`${path}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page[key]);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return items;
}

const countBy = (items) => items.reduce((m, i) => m.set(i.company_id, (m.get(i.company_id) || 0) + 1), new Map());

let counts = { issues: new Map(), milestones: new Map() };

async function loadOverview() {
  const mine = ++seq;
  const companies = companyList();
  $('#overview-rows').replaceChildren(...companies.map((c) => row(c, null)));
  try {
    const [issues, milestones] = await Promise.all([
      all('/api/issues?status=ongoing&limit=500', 'issues'),
      all('/api/milestones?within=90d&limit=500', 'milestones'),
    ]);
    if (mine !== seq) return;
    counts = { issues: countBy(issues), milestones: countBy(milestones.filter((m) => m.status !== 'resolved')) };
    await Promise.all(companies.map((c) => loadRow(c.id)));
  } catch (err) {
    reportError('Could not load the overview', err);
  }
}

async function loadRow(id) {
  const company = companyList().find((c) => c.id === id);
  const current = $(`#overview-rows tr[data-company="${id}"]`);
  if (!company || !current) return;
  try {
    const [status, details] = await Promise.all([api(withCompany('/api/sync/status', id)), api(`/api/companies/${encodeURIComponent(id)}`)]);
    current.replaceWith(row(details, status));
  } catch (err) {
    reportError(`Could not load ${company.name}`, err);
  }
}

function row(c, st) {
  const open = el('a', { href: '#/', class: 'employee-link', text: c.name,
    onclick: () => selectCompany(c.id) });
  const issues = counts.issues.get(c.id) || 0;
  const shown = st ? badgeOf(st, Array.from({ length: issues })) : null;
  const td = (label, content, props = {}) => el('td', { 'data-label': label, ...props }, content);
  return el('tr', { dataset: { company: c.id } },
    td('Company', open),
    td('Status', shown ? el('span', { class: 'badge small', dataset: { status: shown.status }, text: shown.text }) : '…'),
    td('Last successful sync', c.last_success_at
      ? el('time', { datetime: c.last_success_at, title: fmtDateTime(c.last_success_at), text: relTime(c.last_success_at) })
      : 'Never'),
    td('Open issues', issues ? el('a', { href: '#/issues', onclick: () => selectCompany(c.id), text: fmtCount(issues) }) : '0', { class: 'num' }),
    td('Milestones (90 days)', fmtCount(counts.milestones.get(c.id) || 0), { class: 'num' }),
    td('Employees', fmtCount(c.employees), { class: 'num' }));
}
