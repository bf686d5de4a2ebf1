/* Signing in and out. The token comes from the sign-in form or a `#token=` link and is kept in
 * sessionStorage (this tab only); a 401 from any request brings the form back with a message.
 * Signing in loads who the caller is (identity.js) and their companies (company.js) before
 * any page shows, then opens the live activity stream (live.js). */

import { hideSwitcher, loadCompanies } from './company.js';
import { hideDemoBanner, loadDemoBanner } from './demo.js';
import { $ } from './dom.js';
import { hideEmployeePage } from './employee.js';
import { refreshData } from './panels.js';
import { clearIdentity, loadIdentity } from './identity.js';
import { startActivity, stopActivity } from './live.js';
import { hideAllPages, showRoute } from './router.js';
import { reportError } from './toasts.js';
import { PAGE_SIZE, state } from './state.js';
import { clearProgress } from './progress.js';
import { loadStatus, unfollowAll } from './sync.js';

const TOKEN_KEY = 'employes-sync-token';
// Only to keep "5 minutes ago" and the outdated state true: sessions are announced live, and
// nothing is read while a sync runs.
const REFRESH_MS = 60_000;
const EXPIRED_MSG = 'Your session has expired or the token is invalid. Please sign in again.';

/** Moves a `#token=` fragment into sessionStorage; returns the token or null. */
function readTokenFromFragment() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token');
  if (!token) return null;
  sessionStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, '', location.pathname + location.search);
  return token;
}

/** At page load: the dashboard with the token of the link or of this tab, else the sign-in form. */
export function resume() {
  readTokenFromFragment();
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) startDashboard(token);
  else showSignin('');
}

export function onHashChange() {
  const token = readTokenFromFragment();
  if (token && token !== state.token) startDashboard(token);
  else if (state.token) showRoute();
}

function showSignin(message) {
  stopAll();
  state.token = null;
  hideDemoBanner();
  hideAllPages();
  hideEmployeePage();
  hideSwitcher();
  clearIdentity();
  $('#sign-out').hidden = true;
  $('#toasts').replaceChildren();
  $('#signin').hidden = false;
  $('#signin-message').textContent = message || '';
  $('#signin-message').hidden = !message;
  $('#token-input').value = '';
  $('#token-input').focus();
}

export function handleUnauthorized() {
  sessionStorage.removeItem(TOKEN_KEY);
  if (state.token) showSignin(EXPIRED_MSG);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  showSignin('You have signed out.');
}

export function onSigninSubmit(event) {
  event.preventDefault();
  const token = $('#token-input').value.trim();
  if (!token) {
    $('#signin-message').hidden = false;
    $('#signin-message').textContent = 'Please enter your API token.';
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  startDashboard(token);
}

async function startDashboard(token) {
  stopAll();
  state.token = token;
  state.lastSignature = null;
  state.changesLimit = PAGE_SIZE;
  $('#signin').hidden = true;
  $('#sign-out').hidden = false;
  try {
    await Promise.all([loadIdentity(), loadCompanies()]);
  } catch (err) {
    reportError('Could not load your account', err);
    return;
  }
  if (state.token !== token) return;
  showRoute();
  refreshData();
  loadDemoBanner();
  startActivity(); // reads the status once it is open

  state.pollTimer = setInterval(() => { if (!document.hidden && !state.followed.size) loadStatus(); }, REFRESH_MS);
}

/** The company shown changed (the switcher): everything about the previous one goes. */
export function restartForCompany() {
  if (!state.token) return;
  unfollowAll();
  state.lastSignature = null;
  state.lastStatus = null;
  state.detailId = null;
  clearProgress();
  $('#session-detail').hidden = true;
  loadStatus();
  refreshData();
  showRoute();
}

function stopAll() {
  stopActivity();
  clearInterval(state.pollTimer);
  state.pollTimer = null;
  unfollowAll();
}
