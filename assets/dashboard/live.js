/* Live updates without polling: one GET /api/sync/activity stream (Server-Sent Events) says
 * when a session of any company the caller sees starts running and when it ends — whoever
 * started it (Sync Now, the API, the scheduler, a watch, a webhook). A session of the company
 * shown is then followed through its own event stream (sync.js `follow`), so even a sync of
 * less than a second shows its stages; other pages hear of it through `onActivity`.
 *
 * While the stream is open nothing is polled. When it breaks, the page reads the status once
 * and reconnects (1 s, then up to 30 s apart). */

import { AuthError, api } from './api.js';
import { selectedCompany } from './company.js';
import { readEventStream } from './event-stream.js';
import { state } from './state.js';
import { follow, followRunning, loadStatus } from './sync.js';

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

let controller = null;
let retryTimer = null;
const listeners = new Set();

/** Calls `fn({ session_id, company_id, status })` for each announcement; returns the unsubscriber. */
export function onActivity(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Whether the stream is open (the page is live). */
export const isLive = () => state.live === true;

export function startActivity() {
  stopActivity();
  connect(RETRY_MIN_MS);
}

export function stopActivity() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (controller) controller.abort();
  controller = null;
  state.live = false;
}

async function connect(backoff) {
  const mine = new AbortController();
  controller = mine;
  try {
    const res = await api('/api/sync/activity', { headers: { Accept: 'text/event-stream' }, signal: mine.signal, raw: true });
    state.live = true;
    // Anything that started before the stream opened: the status says (and follows it), and
    // so does the list of running sessions (a second one of the company).
    loadStatus();
    followRunning();
    backoff = RETRY_MIN_MS;
    await readEventStream(res.body, (name, raw) => {
      if (name !== 'session') return false;
      let ev;
      try { ev = JSON.parse(raw); } catch (_) { return false; }
      announce(ev);
      return false;
    });
  } catch (err) {
    if (err instanceof AuthError || mine.signal.aborted) return;
  }
  if (mine.signal.aborted || controller !== mine) return;
  state.live = false;
  retryTimer = setTimeout(() => { if (state.token) { loadStatus(); connect(Math.min(backoff * 2, RETRY_MAX_MS)); } }, backoff);
}

function announce(ev) {
  if (ev.company_id === selectedCompany()) {
    // Running: followed in a row of its own, beside any other running. Ended before it could be
    // followed: its follow replays it and reports. (follow ignores a session already followed.)
    if (!state.finished.has(ev.session_id)) follow(ev.session_id);
  }
  for (const fn of listeners) {
    try { fn(ev); } catch (_) { /* a page's listener failing does not stop the stream */ }
  }
}
