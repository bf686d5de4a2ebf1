/* Sync Now, the status, and following a running session live (its event stream) until it ends
 * with a toast. live.js tells this module when a session of the company starts (any source). */

import { AuthError, api } from './api.js';
import { readEventStream } from './event-stream.js';
import { errorText } from './advice.js';
import { companyName, manyCompanies, selectedCompany, withCompany } from './company.js';
import { capitalize, humanize, plural } from './format.js';
import { employeeNames } from './names.js';
import { refreshData } from './panels.js';
import { resetProgress, updateStage } from './progress.js';
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
    if (s && isActive(s.status) && !state.following && !state.finished.has(s.id)) follow(s.id);
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
    if (state.following !== res.session_id) follow(res.session_id);
  } catch (err) {
    reportError('Could not start the sync', err);
  } finally {
    state.starting = false;
    renderSyncButton();
    loadStatus();
  }
}

/** Reads the session's progress events into the progress panel until the session ends. */
export async function follow(id) {
  if (state.followAbort) state.followAbort.abort();
  const controller = new AbortController();
  state.followAbort = controller;
  state.following = id;
  resetProgress();
  showSyncing();
  renderSyncButton();
  try {
    const res = await api(`/api/sync/sessions/${encodeURIComponent(id)}/events`, {
      headers: { Accept: 'text/event-stream' }, signal: controller.signal, raw: true,
    });
    await readEventStream(res.body, (_name, raw) => {
      let ev;
      try { ev = JSON.parse(raw); } catch (_) { return; }
      if (ev.stage === 'session') return true; // final event: the session has ended
      updateStage(ev);
      return false;
    });
  } catch (err) {
    if (err instanceof AuthError || controller.signal.aborted) return;
    // stream broke: fall through and check the session; polling re-follows if still active
  }
  if (controller.signal.aborted || state.following !== id) return;
  state.following = null;
  state.followAbort = null;
  await finishSession(id);
}

async function finishSession(id) {
  let session;
  try {
    session = await api(`/api/sync/sessions/${encodeURIComponent(id)}`);
  } catch (err) {
    reportError('Could not load the sync result', err);
    renderSyncButton();
    return;
  }
  (session.stages || []).forEach(updateStage);
  if (isActive(session.status)) { renderSyncButton(); return; } // stream ended early
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
