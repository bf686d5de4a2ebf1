/* Which company the dashboard shows. The caller's companies come from GET /api/companies; with
 * more than one, a switcher in the top bar picks one (remembered in this browser's
 * localStorage) or "All companies" (the overview page, #/overview). `withCompany(path)` adds
 * `company_id=` to the API requests that are about the company shown. */

import { api } from './api.js';
import { $, el } from './dom.js';

const KEY = 'employes-sync-company';
export const ALL = 'all';

let companies = [];
let selected = null;  // the company shown by the dashboard's pages
let onChange = () => {};

export const companyList = () => companies;
export const selectedCompany = () => selected;
export const companyById = (id) => companies.find((c) => c.id === id) || null;
export const companyName = (id) => companyById(id)?.name || 'Unknown company';
export const manyCompanies = () => companies.length > 1;

/** `path` with `company_id=` of the company shown (none while there is none). */
export function withCompany(path, id = selected) {
  if (!id) return path;
  return `${path}${path.includes('?') ? '&' : '?'}company_id=${encodeURIComponent(id)}`;
}

/** What the switcher does when the user picks a company (auth.js: reload the pages). */
export function setCompanyChangeHandler(handler) { onChange = handler; }

/** Loads the caller's companies and picks the remembered one (else the first). */
export async function loadCompanies() {
  const { companies: list } = await api('/api/companies?limit=500');
  companies = list;
  let remembered = null;
  try { remembered = localStorage.getItem(KEY); } catch (_) { /* storage blocked */ }
  if (!companies.some((c) => c.id === selected)) selected = null;
  if (!selected) selected = companies.some((c) => c.id === remembered) ? remembered : (companies[0]?.id ?? null);
  renderSwitcher();
  return companies;
}

/** Refreshes the list (a company added, changed or removed on the Companies page). */
export async function reloadCompanies() {
  const before = selected;
  await loadCompanies();
  if (selected !== before) onChange(selected);
}

/** Shows a company (the switcher, or a link on the overview). */
export function selectCompany(id) {
  if (!companyById(id)) return;
  const changed = id !== selected;
  selected = id;
  try { localStorage.setItem(KEY, id); } catch (_) { /* storage blocked */ }
  renderSwitcher();
  if (changed) onChange(id);
}

/** Marks "All companies" in the switcher while the overview shows (true) or the company (false). */
export function showingAll(all) {
  const select = $('#company-select');
  if (select) select.value = all ? ALL : (selected || '');
}

function renderSwitcher() {
  const box = $('#company-switcher');
  box.hidden = companies.length < 2;
  const select = $('#company-select');
  const onOverview = location.hash === '#/overview';
  select.replaceChildren(
    el('option', { value: ALL, text: 'All companies' }),
    ...companies.map((c) => el('option', { value: c.id, text: c.name })));
  select.value = onOverview ? ALL : (selected || '');
}

/** Wires the switcher (once, at load). */
export function initCompanySwitcher() {
  $('#company-select').addEventListener('change', (event) => {
    const value = event.target.value;
    if (value === ALL) { location.hash = '#/overview'; return; }
    selectCompany(value);
    if (location.hash === '#/overview') location.hash = '#/';
  });
}

export function hideSwitcher() {
  companies = [];
  $('#company-switcher').hidden = true;
}
