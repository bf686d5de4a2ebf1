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
 */

import { setUnauthorizedHandler } from './api.js';
import { handleUnauthorized, onHashChange, onSigninSubmit, resume, signOut } from './auth.js';
import { showMore } from './changes.js';
import { initEmployeeSearch } from './employees.js';
import { loadSessions } from './sessions.js';
import { $ } from './dom.js';
import { state } from './state.js';
import { loadStatus, startSync } from './sync.js';

setUnauthorizedHandler(handleUnauthorized);
$('#signin-form').addEventListener('submit', onSigninSubmit);
$('#sign-out').addEventListener('click', signOut);
$('#sync-now').addEventListener('click', startSync);
$('#show-more').addEventListener('click', showMore);
$('#show-quiet').addEventListener('change', loadSessions);
initEmployeeSearch();
window.addEventListener('hashchange', onHashChange);
document.addEventListener('visibilitychange', () => { if (!document.hidden && state.token) loadStatus(); });
resume();
