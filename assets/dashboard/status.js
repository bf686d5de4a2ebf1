/* The status card: the badge, the last successful sync and (separately) the latest problem,
 * the next scheduled sync, the company's employee count, and the Sync Now button.
 *
 * The badge is honest: "All data current" only when the copy is current, the last session had
 * no errors and no issue is open; otherwise it says what is wrong. */

import { $, setText } from './dom.js';
import { fmtCount, fmtDateTime, humanize, plural, relTime, statusLabel } from './format.js';
import { issueText } from './advice.js';
import { state } from './state.js';

const BADGES = { current: 'All data current', outdated: 'Outdated', syncing: 'Syncing…', error: 'Error', never: 'Never synced' };

export const isActive = (s) => s === 'queued' || s === 'running';

/** A sync is being started, followed, or reported running: Sync Now is disabled. */
export function syncBusy() {
  const st = state.lastStatus;
  const statusBusy = !!st && (st.status === 'syncing' || isActive(st.last_session && st.last_session.status));
  return state.starting || state.followed.size > 0 || statusBusy;
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

/** The badge's status and words: the service's status, made worse by errors and open issues. */
export function badgeOf(st, issues = []) {
  const s = st.last_session;
  if (st.status !== 'current' && st.status !== 'outdated') return { status: st.status, text: BADGES[st.status] || humanize(st.status) };
  const prefix = st.status === 'current' ? 'Current' : 'Outdated';
  if (s && s.status === 'completed_with_errors') {
    return { status: 'warning', text: `${prefix} — last sync had ${plural(s.errors_count || 0, 'error')}` };
  }
  if (issues.length) return { status: 'warning', text: `${prefix} — ${plural(issues.length, 'open issue')}` };
  return { status: st.status, text: BADGES[st.status] };
}

/** The latest problem: the last session's errors or failure, else the newest open issue. */
function latestProblem(st, issues) {
  const s = st.last_session;
  if (s && (s.status === 'failed' || s.status === 'completed_with_errors')) {
    const when = relTime(s.completed_at || s.requested_at);
    return s.status === 'failed'
      ? { text: `Sync failed ${when}`, title: s.failure_reason || '' }
      : { text: `${plural(s.errors_count || 0, 'error')} in the sync ${when}`, title: statusLabel(s.status) };
  }
  const issue = issues[0];
  if (issue) return { text: `${issueText(issue).title} (${relTime(issue.last_seen)})`, title: issue.message || '' };
  return { text: 'None', title: '' };
}

/** The badge while a session of the company is followed (the status is read again when it ends). */
export function showSyncing() {
  const badge = $('#status-badge');
  badge.dataset.status = 'syncing';
  setText(badge, BADGES.syncing);
}

/** st: GET /api/sync/status; company: GET /api/companies/{id} (its employee count); issues: its ongoing ones. */
export function renderStatus(st, company = null, issues = []) {
  const badge = $('#status-badge');
  // Syncing while any session is followed, even when the newest one has already ended.
  const shown = state.followed.size ? { status: 'syncing', text: BADGES.syncing } : badgeOf(st, issues);
  badge.dataset.status = shown.status;
  setText(badge, shown.text);
  const s = st.last_session;
  const running = s && isActive(s.status);
  const last = $('#last-sync');
  setText(last, st.last_success_at ? relTime(st.last_success_at) : running ? 'In progress' : 'Never');
  last.title = st.last_success_at ? fmtDateTime(st.last_success_at) : '';
  const problem = latestProblem(st, issues);
  const problemNode = $('#latest-problem');
  setText(problemNode, problem.text);
  problemNode.title = problem.title;
  problemNode.dataset.problem = problem.text === 'None' ? 'none' : 'yes';
  $('#problem-link').hidden = problem.text === 'None';
  setText($('#next-sync'), st.next_scheduled_at ? fmtDateTime(st.next_scheduled_at) : 'Not scheduled');
  if (company) setText($('#employees-count'), fmtCount(company.employees));
  renderSyncButton();
}
