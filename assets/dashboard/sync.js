/* Sync Now, the status, and following running sessions live (each through its own event
 * stream, each in its own row of the progress panel) until each ends with a toast. live.js
 * tells this module when a session of the company starts (any source). */

import { AuthError, api } from './api.js';
import { readEventStream } from './event-stream.js';
import { errorText } from './advice.js';
import { companyName, manyCompanies, selectedCompany, withCompany } from './company.js';
import { capitalize, humanize, plural } from './format.js';
import { employeeNames } from './names.js';
import { refreshData } from './panels.js';
import { describeRow, endRow, progressRow, updateStage } from './progress.js';
import { renderSessionDetail } from './sessions.js';
import { state } from './state.js';
import { isActive, renderStatus, renderSyncButton, showSyncing, syncBusy } from './status.js';
import { reportError, toast } from './toasts.js';

/** Loads the status; returns true when it also refreshed the other panels. */
export async function loadStatus() {
  const seq = ++state.statusSeq;
  const company = selectedCompany();
  if (!company) return false;
  try {
    const [st, details, { issues }] = await Promise.all([
      api(withCompany('/api/sync/status')),
      api(`/api/companies/${encodeURIComponent(company)}`),
      api(withCompany('/api/issues?status=ongoing&limit=100')),
    ]);
    if (seq !== state.statusSeq || !state.token || company !== selectedCompany()) return false;
    state.offline = false;
    state.lastStatus = st;
    state.openIssues = issues;
    renderStatus(st, details, issues);
    const s = st.last_session;
    if (s && isActive(s.status) && !state.finished.has(s.id)) follow(s.id);
    const signature = s ? `${s.id}:${s.status}` : 'none';
    const changed = state.lastSignature !== null && signature !== state.lastSignature;
    state.lastSignature = signature;
    if (changed) refreshData();
    return changed;
  } catch (err) {
    if (!(err instanceof AuthError)) {
      state.offline = true;
      renderSyncButton();
    }
    return false;
  }
}

export async function startSync() {
  if (syncBusy()) return;
  state.starting = true;
  renderSyncButton();
  try {
    const res = await api('/api/sync', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ company_id: selectedCompany() }),
    });
    toast('info', res.coalesced ? 'Sync already running — following it' : 'Sync started');
    state.finished.delete(res.session_id);
    follow(res.session_id);
  } catch (err) {
    reportError('Could not start the sync', err);
  } finally {
    state.starting = false;
    renderSyncButton();
    loadStatus();
  }
}

/** Follows every session of the company that runs (a page opened while two run shows both). */
export async function followRunning() {
  const company = selectedCompany();
  try {
    const { sessions = [] } = await api(withCompany('/api/sync/sessions?status=running&limit=10'));
    if (company !== selectedCompany()) return;
    for (const s of sessions) if (!state.finished.has(s.id)) follow(s.id);
  } catch (_) {
    // the status (read at the same time) still follows the newest; the activity stream the rest
  }
}

/** Reads session `id`'s progress events into its row of the progress panel until it ends;
 *  sessions followed at the same time each keep their own row and stream. */
export async function follow(id) {
  if (state.followed.has(id)) return;
  const controller = new AbortController();
  state.followed.set(id, controller);
  const row = progressRow(id);
  showSyncing();
  renderSyncButton();
  api(`/api/sync/sessions/${encodeURIComponent(id)}`, { signal: controller.signal })
    .then((s) => describeRow(row, s), () => { /* the row keeps its short name */ });
  try {
    const res = await api(`/api/sync/sessions/${encodeURIComponent(id)}/events`, {
      headers: { Accept: 'text/event-stream' }, signal: controller.signal, raw: true,
    });
    await readEventStream(res.body, (_name, raw) => {
      let ev;
      try { ev = JSON.parse(raw); } catch (_) { return; }
      if (ev.stage === 'session') return true; // final event: the session has ended
      updateStage(row, ev);
      return false;
    });
  } catch (err) {
    if (err instanceof AuthError || controller.signal.aborted) return;
    // stream broke: fall through and check the session; the status re-follows it if still active
  }
  if (controller.signal.aborted || state.followed.get(id) !== controller) return;
  await finishSession(id, row, controller);
}

/** Stops following every session (another company shown, signed out). */
export function unfollowAll() {
  for (const controller of state.followed.values()) controller.abort();
  state.followed.clear();
}

/** Shows the ended session's result; it counts as followed until then (an announcement of its
 *  end meanwhile does not follow it again). */
async function finishSession(id, row, controller) {
  let session = null;
  try {
    session = await api(`/api/sync/sessions/${encodeURIComponent(id)}`);
  } catch (err) {
    reportError('Could not load the sync result', err);
  }
  if (state.followed.get(id) !== controller) return; // another company shown meanwhile
  state.followed.delete(id);
  if (!session || isActive(session.status)) { // the stream ended early: the status follows it again
    if (session) (session.stages || []).forEach((st) => updateStage(row, st));
    renderSyncButton();
    return;
  }
  endRow(row, session);
  if (!state.finished.has(id)) {
    state.finished.add(id);
    announceResult(session);
  }
  if (state.detailId === id) renderSessionDetail(session);
  if (!(await loadStatus())) refreshData();
}

/** The first errors in plain words ("History: Employes had a temporary problem … — Anna Jansen"). */
async function errorLines(session) {
  const errors = (session.errors || []).slice(0, 10);
  const names = await employeeNames(errors.map((e) => e.employee_id));
  return errors.map((e) => {
    const who = e.employee_id ? ` — ${names.get(e.employee_id) || 'an employee no longer stored'}` : '';
    return `${e.stage ? `${capitalize(humanize(e.stage))}: ` : ''}${errorText(e).text.replace(/\.$/, '')}${who}`;
  });
}


async function announceResult(s) {
  const of = manyCompanies() ? ` (${companyName(s.company_id)})` : '';
  if (s.status === 'completed') {
    toast('success', `Sync completed${of} — ${plural(s.employees_processed || 0, 'employee')}, ${plural(s.changes_detected || 0, 'change')}`);
  } else if (s.status === 'completed_with_errors') {
    toast('warning', `Sync completed with warnings${of} — ${plural(s.errors_count || 0, 'error')}`, await errorLines(s),
      { href: '#/issues', label: 'What to do' });
  } else if (s.status === 'failed') {
    const first = (s.errors || [])[0];
    const reason = s.failure_reason || (first && first.message) || 'unknown reason';
    toast('error', `Sync failed${of} — ${reason}`, (await errorLines(s)).slice(s.failure_reason ? 0 : 1),
      { href: '#/issues', label: 'What to do' });
  }
}
