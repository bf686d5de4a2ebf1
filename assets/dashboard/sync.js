/* Sync Now, the status poll, and following a running session live until it ends with a toast. */

import { AuthError, api } from './api.js';
import { readEventStream } from './event-stream.js';
import { capitalize, humanize, plural } from './format.js';
import { refreshData } from './panels.js';
import { resetProgress, updateStage } from './progress.js';
import { renderSessionDetail } from './sessions.js';
import { state } from './state.js';
import { isActive, renderStatus, renderSyncButton, syncBusy } from './status.js';
import { reportError, toast } from './toasts.js';

/** Loads the status; returns true when it also refreshed the other panels. */
export async function loadStatus() {
  const seq = ++state.statusSeq;
  try {
    const st = await api('/api/sync/status');
    if (seq !== state.statusSeq || !state.token) return false;
    state.offline = false;
    state.lastStatus = st;
    renderStatus(st);
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
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}',
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
async function follow(id) {
  if (state.followAbort) state.followAbort.abort();
  const controller = new AbortController();
  state.followAbort = controller;
  state.following = id;
  resetProgress();
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

function errorLines(session) {
  return (session.errors || []).slice(0, 10).map((e) => {
    const who = e.employee_id ? ` (employee ${e.employee_id})` : '';
    return `${e.stage ? `${capitalize(humanize(e.stage))}: ` : ''}${e.message || 'unknown error'}${who}`;
  });
}

function announceResult(s) {
  if (s.status === 'completed') {
    toast('success', `Sync completed — ${plural(s.employees_processed || 0, 'employee')}, ${plural(s.changes_detected || 0, 'change')}`);
  } else if (s.status === 'completed_with_errors') {
    toast('warning', `Sync completed with warnings — ${plural(s.errors_count || 0, 'error')}`, errorLines(s));
  } else if (s.status === 'failed') {
    const first = (s.errors || [])[0];
    const reason = s.failure_reason || (first && first.message) || 'unknown reason';
    toast('error', `Sync failed — ${reason}`, errorLines(s).slice(s.failure_reason ? 0 : 1));
  }
}
