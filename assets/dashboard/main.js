/* employes-sync dashboard — plain ES modules, no dependencies, no build step; the binary serves
 * each file (src/http/dashboard.rs). All API strings are rendered with textContent, never innerHTML.
 *
 *   main.js      wires the page's events          auth.js      sign-in/out, the token
 *   sync.js      Sync Now, status poll, live       status.js    the status card
 *                progress of a session             progress.js  the stage bars
 *   changes.js   recent changes                    sessions.js  session history and detail
 *   stats.js     statistics tiles                  panels.js    reloads those three together
 *   api.js       the JSON API                      toasts.js    notifications
 *   format.js    numbers, dates, labels            dom.js       element helpers
 *   state.js     shared state                      event-stream.js  text/event-stream reader
 *   employees.js the employee search               employee.js  the employee page (#/employees/<id>)
 *   timeline-chart.js  the page's SVG wage/hours chart and contract bar
 *   demo.js      the "Demo data" banner
 *   changes-page.js  the Changes page (#/changes)  changes-filter.js  its filters
 *   csv.js       "Export CSV" of a list            upcoming.js  the Upcoming page (#/upcoming)
 *   milestone-text.js  milestones in words, urgency
 *   router.js    the hash routes: pages register here (below), the top navigation
 *   identity.js  who is signed in (GET /api/me), role-gated elements
 *   company.js   the company switcher, `withCompany()` for API paths
 *   live.js      the activity stream: sessions of any source announced as they start/end
 *   advice.js    issues and errors in plain words, with what to do
 *   names.js     employee names for the ids errors carry
 *   overview.js  "All companies" (#/overview)      issues.js    Issues (#/issues), Retry failed employees
 *   history.js   Sessions (#/sessions), filtered and paged
 *   companies.js Companies (#/companies, admin)   endpoints.js Endpoints (#/endpoints, admin)
 */

import { setUnauthorizedHandler } from './api.js';
import { handleUnauthorized, onHashChange, onSigninSubmit, restartForCompany, resume, signOut } from './auth.js';
import { showMore } from './changes.js';
import { changesPage } from './changes-page.js';
import { companiesPage, initCompaniesPage } from './companies.js';
import { initCompanySwitcher, setCompanyChangeHandler } from './company.js';
import { endpointsPage, initEndpointsPage } from './endpoints.js';
import { employeePage } from './employee.js';
import { initEmployeeSearch } from './employees.js';
import { historyPage, initHistory } from './history.js';
import { issuesPage } from './issues.js';
import { overviewPage } from './overview.js';
import { upcomingPage } from './upcoming.js';
import { registerPage } from './router.js';
import { loadSessions, sessionsTable } from './sessions.js';
import { $ } from './dom.js';
import { state } from './state.js';
import { loadStatus, startSync } from './sync.js';

// The pages, in the order of the navigation; the first is also where unknown addresses go.
registerPage({ name: 'dashboard', pattern: /^\/$/, element: '#dashboard', nav: 'Dashboard', navPath: '/' });
registerPage(changesPage);
registerPage(upcomingPage);
registerPage(issuesPage);
registerPage(historyPage);
registerPage(companiesPage);
registerPage(endpointsPage);
registerPage(overviewPage);
registerPage(employeePage);

for (const slot of document.querySelectorAll('[data-sessions-table]')) slot.append(sessionsTable(slot.dataset.sessionsTable));
setUnauthorizedHandler(handleUnauthorized);
$('#signin-form').addEventListener('submit', onSigninSubmit);
$('#sign-out').addEventListener('click', signOut);
$('#sync-now').addEventListener('click', startSync);
$('#show-more').addEventListener('click', showMore);
$('#show-quiet').addEventListener('change', loadSessions);
initEmployeeSearch();
initCompanySwitcher();
setCompanyChangeHandler(restartForCompany);
initHistory();
initCompaniesPage();
initEndpointsPage();
window.addEventListener('hashchange', onHashChange);
document.addEventListener('visibilitychange', () => { if (!document.hidden && state.token) loadStatus(); });
resume();
