/* Signing in and out. The token comes from the sign-in form or a `#token=` link and is kept in
 * sessionStorage (this tab only); a 401 from any request brings the form back with a message. */

import { hideDemoBanner, loadDemoBanner } from './demo.js';
import { $ } from './dom.js';
import { hideEmployeePage, showRoute } from './employee.js';
import { refreshData } from './panels.js';
import { PAGE_SIZE, state } from './state.js';
import { loadStatus } from './sync.js';

const TOKEN_KEY = 'employes-sync-token';
const POLL_MS = 5000;
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
  $('#dashboard').hidden = true;
  hideEmployeePage();
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

function startDashboard(token) {
  stopAll();
  state.token = token;
  state.lastSignature = null;
  state.changesLimit = PAGE_SIZE;
  $('#signin').hidden = true;
  $('#sign-out').hidden = false;
  showRoute();
  loadStatus();
  refreshData();
  loadDemoBanner();
  state.pollTimer = setInterval(() => { if (!document.hidden) loadStatus(); }, POLL_MS);
}

function stopAll() {
  clearInterval(state.pollTimer);
  state.pollTimer = null;
  if (state.followAbort) state.followAbort.abort();
  state.followAbort = null;
  state.following = null;
}
