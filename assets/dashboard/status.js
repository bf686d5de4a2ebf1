/* The status card: badge, last/next sync, employees synced, and the Sync Now button. */

import { $, setText } from './dom.js';
import { fmtCount, fmtDateTime, humanize, relTime } from './format.js';
import { state } from './state.js';

const BADGES = { current: 'All data current', outdated: 'Outdated', syncing: 'Syncing…', error: 'Error', never: 'Never synced' };

export const isActive = (s) => s === 'queued' || s === 'running';

/** A sync is being started, followed, or reported running: Sync Now is disabled. */
export function syncBusy() {
  const st = state.lastStatus;
  const statusBusy = !!st && (st.status === 'syncing' || isActive(st.last_session && st.last_session.status));
  return state.starting || !!state.following || statusBusy;
}

export function renderSyncButton() {
  const busy = syncBusy();
  const button = $('#sync-now');
  button.disabled = busy;
  button.setAttribute('aria-busy', String(busy));
  setText($('#sync-hint'), state.offline
    ? 'Cannot reach the server — retrying…'
    : busy ? 'A sync is in progress.' : '');
}

export function renderStatus(st) {
  const badge = $('#status-badge');
  badge.dataset.status = st.status;
  setText(badge, BADGES[st.status] || humanize(st.status));
  const s = st.last_session;
  const running = s && isActive(s.status);
  const lastIso = (s && !running && s.completed_at) || st.last_success_at;
  const last = $('#last-sync');
  setText(last, lastIso ? relTime(lastIso) : running ? 'In progress' : 'Never');
  last.title = lastIso ? fmtDateTime(lastIso) : '';
  setText($('#next-sync'), st.next_scheduled_at ? fmtDateTime(st.next_scheduled_at) : 'Not scheduled');
  // While a sync runs, keep what the last finished one stored (the running one counts from 0).
  if (!running) setText($('#employees-synced'), s ? fmtCount(s.employees_processed) : '—');
  renderSyncButton();
}
