/* The hash router: each page of the dashboard is an element of index.html shown for the
 * addresses its pattern matches (`#/` the dashboard, `#/employees/<id>`, `#/issues`, …).
 *
 * A page module exports a page object and main.js registers it:
 *   registerPage({ name, pattern, element, title?, nav?, role?, show?(match), hide?() })
 * - pattern: a RegExp over the address after '#' (e.g. /^\/issues$/); its groups go to show().
 * - element: the selector of the page's element (shown while the page is, hidden otherwise).
 * - nav: the label of the page's link in the top navigation (none: no link);
 *   role: the least role that sees the link and may open the page (viewer < operator < admin).
 * - show(match): called each time the address changes to the page (also when already shown);
 *   hide(): called when another page takes its place.
 * Addresses that are not routes (`#main` of the skip link, `#token=`) leave the page as it is. */

import { $, el } from './dom.js';

const ROLES = ['viewer', 'operator', 'admin'];
const pages = [];
let current = null;
let role = null; // the caller's role; null until known (links needing more than viewer stay hidden)

/** The address of a page: href('/issues') → '#/issues'. */
export const href = (path) => `#${path}`;

/** Whether the caller's role is `least` or higher. */
export const hasRole = (least) => !least || least === 'viewer' || ROLES.indexOf(role) >= ROLES.indexOf(least);

export function registerPage(page) {
  pages.push(page);
}

/** The route part of the address ('/' for none), or null when the fragment is not a route. */
function routePath() {
  const hash = location.hash;
  if (hash === '' || hash === '#') return '/';
  return hash.startsWith('#/') ? hash.slice(1) : null;
}

/** The page (and its match) for the address; unknown routes and pages above the role → the first page. */
function resolve(path) {
  for (const page of pages) {
    const match = page.pattern.exec(path);
    if (match && hasRole(page.role)) return { page, match };
  }
  return { page: pages[0], match: [path] };
}

/** Shows the page the address names (call after sign-in and on every hashchange). */
export function showRoute() {
  const path = routePath();
  if (path === null && current) return;
  const { page, match } = resolve(path ?? '/');
  if (current && current !== page && current.hide) current.hide();
  for (const p of pages) $(p.element).hidden = p !== page;
  const changed = current !== page;
  current = page;
  renderNav();
  document.title = page.title ? `${page.title} — Employes sync` : 'Employes sync';
  if (page.show) page.show(match, { changed });
}

/** Hides every page (signing out). */
export function hideAllPages() {
  if (current && current.hide) current.hide();
  current = null;
  for (const p of pages) $(p.element).hidden = true;
  $('#nav').hidden = true;
  document.title = 'Employes sync';
}

/** Sets the caller's role (from GET /api/me) and redraws the navigation. */
export function setRole(next) {
  role = next;
  renderNav();
}

/** The top navigation: a link per page with `nav` that the role may open. */
function renderNav() {
  const nav = $('#nav');
  const links = pages.filter((p) => p.nav && hasRole(p.role)).map((p) => {
    const link = el('a', { class: 'nav-link', href: href(p.navPath || '/'), dataset: { page: p.name }, text: p.nav });
    if (p === current) link.setAttribute('aria-current', 'page');
    return el('li', {}, link);
  });
  $('ul', nav).replaceChildren(...links);
  nav.hidden = links.length < 2;
}
