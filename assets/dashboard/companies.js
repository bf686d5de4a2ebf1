/* The Companies page (#/companies, admins): every company with its schedule, watch interval,
 * rate limit and key; "Check" asks Employes with the company's key (POST …/check), "Edit"
 * changes its settings (PATCH), "Remove" deletes it and all its stored data after a
 * confirmation; "Add a company" stores it and checks the connection at once. */

import { api } from './api.js';
import { reloadCompanies } from './company.js';
import { $, el } from './dom.js';
import { fmtCount, fmtDate, humanize, plural } from './format.js';
import { badgeOf } from './status.js';
import { reportError, toast } from './toasts.js';

let editing = null;

export const companiesPage = {
  name: 'companies',
  pattern: /^\/companies$/,
  element: '#companies-page',
  title: 'Companies',
  nav: 'Companies',
  navPath: '/companies',
  role: 'admin',
  show() { loadCompaniesTable(); },
  hide() { editing = null; $('#company-editor').replaceChildren(); },
};

const keyText = (c) => (!c.api_key_set ? 'Not set' : c.api_key_expires_at ? `Set, expires ${fmtDate(c.api_key_expires_at)}` : 'Set');

async function loadCompaniesTable() {
  try {
    const { companies } = await api('/api/companies?limit=500');
    $('#companies-rows').replaceChildren(...companies.map(companyRow));
  } catch (err) {
    reportError('Could not load the companies', err);
  }
}

function companyRow(c) {
  const shown = badgeOf({ status: c.status, last_session: null });
  const td = (label, content, props = {}) => el('td', { 'data-label': label, ...props }, content);
  const act = (text, onclick, cls = 'btn-secondary') => el('button', { type: 'button', class: `btn ${cls} btn-small`, onclick,
    'aria-label': `${text} ${c.name}` }, text);
  return el('tr', { dataset: { company: c.id } },
    td('Company', el('span', {}, el('strong', { text: c.name }), c.simulated ? el('span', { class: 'tag', text: 'demo' }) : null,
      el('br'), el('span', { class: 'mono hint', text: c.id }))),
    td('Status', el('span', { class: 'badge small', dataset: { status: shown.status }, text: shown.text })),
    td('Schedule', c.schedule),
    td('Watch', c.watch_interval || 'default'),
    td('Rate limit', `${fmtCount(c.rate_limit)}/s`, { class: 'num' }),
    td('API key', keyText(c)),
    td('Actions', el('span', { class: 'row-actions' },
      act('Check', () => check(c.id, c.name)),
      act('Edit', () => edit(c)),
      act('Remove', () => remove(c), 'btn-danger-outline'))));
}

/** Asks Employes with the company's key; shows and returns the answer. */
async function check(id, name, target = null) {
  try {
    const r = await api(`/api/companies/${encodeURIComponent(id)}/check`, { method: 'POST' });
    const message = r.ok
      ? `Connection works: Employes lists ${plural(r.employees, 'employee')} for ${name}.`
      : `Connection failed for ${name}: ${r.reason}`;
    if (target) showResult(target, r.ok ? 'ok' : 'error', message);
    else toast(r.ok ? 'success' : 'warning', message);
    return r;
  } catch (err) {
    reportError('Could not check the connection', err);
    return null;
  }
}

function showResult(sel, kind, message) {
  const node = $(sel);
  node.dataset.kind = kind;
  node.textContent = message;
  node.hidden = false;
}

/** The non-empty fields of a form, numbers as numbers. */
function fields(form) {
  const body = {};
  for (const input of form.querySelectorAll('input[name], select[name]')) {
    const value = input.value.trim();
    if (!value) continue;
    body[input.name] = input.type === 'number' ? Number(value) : value;
  }
  return body;
}

async function add(event) {
  event.preventDefault();
  const form = event.target;
  const body = fields(form);
  if (!body.id || !body.api_key) { showResult('#company-add-result', 'error', 'The company id and an API key are needed.'); return; }
  try {
    const c = await api('/api/companies', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    form.reset();
    showResult('#company-add-result', 'ok', `${c.name} added. Checking the connection…`);
    await reloadCompanies();
    await loadCompaniesTable();
    await check(c.id, c.name, '#company-add-result');
  } catch (err) {
    showResult('#company-add-result', 'error', `Could not add the company: ${err.message}`);
  }
}

const SETTINGS = [
  ['name', 'Name', 'text'], ['schedule', 'Schedule (cron, or off)', 'text'], ['watch_interval', 'Watch every (e.g. 5m, or off)', 'text'],
  ['rate_limit', 'Requests per second', 'number'], ['history_refresh_after', 'Re-read every history within', 'text'],
  ['chain_max_contracts', 'Fixed contracts in a chain', 'number'], ['chain_max_months', 'Months a chain may span', 'number'],
  ['chain_gap_months', 'Months of gap that break a chain', 'number'],
];

function edit(c) {
  editing = c.id;
  const input = ([key, label, type]) => el('div', { class: 'field' },
    el('label', { for: `edit-${key}`, text: label }),
    el('input', { id: `edit-${key}`, name: key, type, value: c[key] ?? '', spellcheck: 'false', autocomplete: 'off',
      min: type === 'number' ? '0' : null }));
  const form = el('form', { id: 'company-edit', class: 'form-grid', novalidate: true },
    ...SETTINGS.map(input),
    el('div', { class: 'field' }, el('label', { for: 'edit-api_key', text: 'New API key (leave empty to keep)' }),
      el('input', { id: 'edit-api_key', name: 'api_key', type: 'password', autocomplete: 'off', spellcheck: 'false' })),
    el('div', { class: 'form-actions' },
      el('button', { type: 'submit', class: 'btn btn-primary', text: 'Save' }),
      el('button', { type: 'button', class: 'btn btn-secondary', text: 'Cancel', onclick: () => { editing = null; $('#company-editor').replaceChildren(); } })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {};
    for (const [key, value] of Object.entries(fields(form))) if (String(value) !== String(c[key] ?? '')) body[key] = value;
    if (!Object.keys(body).length) { showResult('#company-edit-result', 'ok', 'Nothing changed.'); return; }
    try {
      const saved = await api(`/api/companies/${encodeURIComponent(c.id)}`, {
        method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      showResult('#company-edit-result', 'ok', `Saved: ${Object.keys(body).map(humanize).join(', ')}.`);
      await reloadCompanies();
      await loadCompaniesTable();
      Object.assign(c, saved);
    } catch (err) {
      showResult('#company-edit-result', 'error', `Not saved: ${err.message}`);
    }
  });
  $('#company-editor').replaceChildren(
    el('section', { class: 'session-detail', 'aria-labelledby': 'company-edit-title' },
      el('h3', { id: 'company-edit-title', text: `Edit ${c.name}` }), form,
      el('p', { id: 'company-edit-result', class: 'form-result', role: 'status', hidden: true })));
  $('#edit-name').focus();
}

/** Asks for confirmation in the page's dialog; resolves true when confirmed. */
function confirmDialog(title, text, ok) {
  const dialog = $('#confirm-dialog');
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = ok;
  dialog.returnValue = '';
  dialog.showModal();
  $('#confirm-cancel').focus();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true }));
}

async function remove(c) {
  const sure = await confirmDialog(`Remove ${c.name}?`,
    `This deletes ${c.name} and everything stored about it: its employees, changes, milestones and sessions. It cannot be undone.`,
    'Remove company');
  if (!sure) return;
  try {
    await api(`/api/companies/${encodeURIComponent(c.id)}`, { method: 'DELETE', raw: true });
    toast('success', `${c.name} removed`);
    if (editing === c.id) $('#company-editor').replaceChildren();
    await reloadCompanies();
    await loadCompaniesTable();
  } catch (err) {
    reportError('Could not remove the company', err);
  }
}

export function initCompaniesPage() {
  $('#company-add').addEventListener('submit', add);
}
