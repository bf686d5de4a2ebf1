/* employes-sync dashboard — plain ES2020, no dependencies.
 * All API strings are rendered with textContent (never innerHTML). */
'use strict';

(() => {
  const TOKEN_KEY = 'employes-sync-token';
  const POLL_MS = 5000;
  const TOAST_MS = 8000;
  const PAGE_SIZE = 10;
  const EXPIRED_MSG = 'Your session has expired or the token is invalid. Please sign in again.';
  const STAGES = ['snapshot', 'history', 'changes'];
  const BADGES = { current: 'All data current', outdated: 'Outdated', syncing: 'Syncing…', error: 'Error', never: 'Never synced' };
  const STATUS_LABELS = {
    pending: 'Pending', queued: 'Queued', running: 'Running', completed: 'Completed',
    completed_with_errors: 'Completed with errors', failed: 'Failed',
  };

  const state = {
    token: null,
    pollTimer: null,
    statusSeq: 0,
    lastStatus: null,
    lastSignature: null,
    starting: false,
    following: null,      // session id whose event stream is being read
    followAbort: null,    // AbortController of that stream
    finished: new Set(),  // session ids already reported with a toast
    changesLimit: PAGE_SIZE,
    detailId: null,
    offline: false,
  };

  class AuthError extends Error {}
  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  // ---------- DOM helpers ----------
  const $ = (sel, root = document) => root.querySelector(sel);
  /** Avoids re-announcing unchanged text inside aria-live regions. */
  const setText = (node, text) => { if (node.textContent !== text) node.textContent = text; };

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, val] of Object.entries(props)) {
      if (val === undefined || val === null || val === false) continue;
      if (key === 'class') node.className = val;
      else if (key === 'text') node.textContent = String(val);
      else if (key === 'dataset') Object.assign(node.dataset, val);
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), val);
      else node.setAttribute(key, val === true ? '' : String(val));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // ---------- formatting ----------
  const numberFmt = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 2 });
  const pctFmt = new Intl.NumberFormat('en-GB', { style: 'percent', maximumFractionDigits: 1 });
  const dateTimeFmt = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
  const dateFmt = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone: 'UTC' });

  const plural = (n, word) => `${numberFmt.format(n)} ${word}${n === 1 ? '' : 's'}`;
  const humanize = (s) => String(s || '').replace(/_/g, ' ');
  const capitalize = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);
  const statusLabel = (s) => STATUS_LABELS[s] || humanize(s) || '—';
  const parseTime = (iso) => { const d = iso ? new Date(iso) : null; return d && !isNaN(d) ? d : null; };
  const fmtDateTime = (iso) => { const d = parseTime(iso); return d ? dateTimeFmt.format(d) : '—'; };
  const fmtCount = (n) => (typeof n === 'number' ? numberFmt.format(n) : '—');

  function fmtDate(value) {
    if (!value) return '—';
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    const d = m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])) : parseTime(value);
    return d ? dateFmt.format(d) : String(value);
  }

  function relTime(iso) {
    const d = parseTime(iso);
    if (!d) return '—';
    const mins = Math.floor((Date.now() - d.getTime()) / 60000);
    if (mins < 1) return 'just now';
    if (mins < 60) return `${plural(mins, 'minute')} ago`;
    const hours = Math.floor(mins / 60);
    if (hours < 24) return `${plural(hours, 'hour')} ago`;
    return `${plural(Math.floor(hours / 24), 'day')} ago`;
  }

  function duration(startIso, endIso) {
    const a = parseTime(startIso);
    const b = parseTime(endIso);
    if (!a || !b) return '—';
    const total = Math.max(0, Math.round((b - a) / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    if (h) return `${h} h ${m} m`;
    return m ? `${m} m ${s} s` : `${s} s`;
  }

  function euro(value) {
    const n = Number(value);
    if (value === null || value === undefined || value === '' || !isFinite(n)) return value ?? '—';
    const digits = Number.isInteger(n) ? 0 : 2;
    return new Intl.NumberFormat('en-GB', {
      style: 'currency', currency: 'EUR', minimumFractionDigits: digits, maximumFractionDigits: digits,
    }).format(n);
  }

  function plainNumber(value) {
    const n = Number(value);
    if (value === null || value === undefined || value === '') return '—';
    return isFinite(n) ? numberFmt.format(n) : String(value);
  }

  const orDash = (v) => (v === null || v === undefined || v === '' ? '—' : String(v));
  const signedPct = (p) => `${p > 0 ? '+' : ''}${p.toFixed(1)} %`;

  function describeChange(c) {
    const from = (fmt) => `${fmt(c.old_value)} → ${fmt(c.new_value)}`;
    switch (c.change_type) {
      case 'salary_change': {
        const label = c.field === 'hour_wage' ? 'Hourly wage' : 'Salary';
        const pct = typeof c.change_percent === 'number' ? ` (${signedPct(c.change_percent)})` : '';
        return `${label} ${from(euro)}${pct}`;
      }
      case 'hours_change':
        return `${c.field === 'days_per_week' ? 'Days per week' : 'Hours'} ${from(plainNumber)}`;
      case 'contract_change':
        return c.business_impact === 'contract_renewal'
          ? `Contract renewed (${from(orDash)})`
          : `Contract ${from(orDash)}`;
      case 'employee_added': return 'Joined the company';
      case 'employee_removed': return 'Left the company';
      case 'status_change': return `Status ${from(orDash)}`;
      case 'personal_data_change':
        return c.field ? `Personal details updated (${humanize(c.field)})` : 'Personal details updated';
      default: return `${capitalize(humanize(c.field || c.change_type || 'change'))} ${from(orDash)}`;
    }
  }

  // ---------- toasts ----------
  function toast(kind, message, details = []) {
    const box = $('#toasts');
    const node = el('div', { class: 'toast', dataset: { kind } },
      el('p', { class: 'toast-message', text: message }));
    if (details.length) node.append(el('ul', { class: 'toast-details' }, details.map((d) => el('li', { text: d }))));
    const close = () => node.remove();
    if (kind === 'warning' || kind === 'error') {
      node.append(el('button', { type: 'button', class: 'toast-close', onclick: close, 'aria-label': 'Dismiss notification' }, 'Close'));
    } else {
      setTimeout(close, TOAST_MS);
    }
    box.append(node);
    while (box.children.length > 5) box.firstElementChild.remove();
  }

  // ---------- API ----------
  async function api(path, options = {}) {
    const headers = { Accept: 'application/json', Authorization: `Bearer ${state.token}`, ...(options.headers || {}) };
    const res = await fetch(path, { ...options, headers });
    if (res.status === 401) { handleUnauthorized(); throw new AuthError('unauthorized'); }
    if (!res.ok) {
      let body = {};
      try { body = await res.json(); } catch (_) { /* not JSON */ }
      throw new ApiError(res.status, body.error || 'http_error', body.message || `Request failed (HTTP ${res.status})`);
    }
    return options.raw ? res : res.json();
  }

  function reportError(prefix, err) {
    if (err instanceof AuthError || (err && err.name === 'AbortError')) return;
    toast('error', `${prefix} — ${err && err.message ? err.message : 'network error'}`);
  }

  // ---------- authentication ----------
  /** Moves a `#token=` fragment into sessionStorage; returns the token or null. */
  function readTokenFromFragment() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ''));
    const token = params.get('token');
    if (!token) return null;
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, '', location.pathname + location.search);
    return token;
  }

  function onHashChange() {
    const token = readTokenFromFragment();
    if (token && token !== state.token) startDashboard(token);
  }

  function showSignin(message) {
    stopAll();
    state.token = null;
    $('#dashboard').hidden = true;
    $('#sign-out').hidden = true;
    $('#toasts').replaceChildren();
    $('#signin').hidden = false;
    $('#signin-message').textContent = message || '';
    $('#signin-message').hidden = !message;
    $('#token-input').value = '';
    $('#token-input').focus();
  }

  function handleUnauthorized() {
    sessionStorage.removeItem(TOKEN_KEY);
    if (state.token) showSignin(EXPIRED_MSG);
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignin('You have signed out.');
  }

  function onSigninSubmit(event) {
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
    $('#dashboard').hidden = false;
    $('#sign-out').hidden = false;
    loadStatus();
    refreshData();
    state.pollTimer = setInterval(() => { if (!document.hidden) loadStatus(); }, POLL_MS);
  }

  function stopAll() {
    clearInterval(state.pollTimer);
    state.pollTimer = null;
    if (state.followAbort) state.followAbort.abort();
    state.followAbort = null;
    state.following = null;
  }

  // ---------- status ----------
  const isActive = (s) => s === 'queued' || s === 'running';

  function syncBusy() {
    const st = state.lastStatus;
    const statusBusy = !!st && (st.status === 'syncing' || isActive(st.last_session && st.last_session.status));
    return state.starting || !!state.following || statusBusy;
  }

  function renderSyncButton() {
    const busy = syncBusy();
    const button = $('#sync-now');
    button.disabled = busy;
    button.setAttribute('aria-busy', String(busy));
    setText($('#sync-hint'), state.offline
      ? 'Cannot reach the server — retrying…'
      : busy ? 'A sync is in progress.' : '');
  }

  function renderStatus(st) {
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

  /** Loads the status; returns true when it also refreshed the other panels. */
  async function loadStatus() {
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

  // ---------- sync + live progress ----------
  async function startSync() {
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

  function resetProgress() {
    $('#progress').hidden = false;
    for (const stage of STAGES) updateStage({ stage, status: 'pending', processed: 0, total: 0 });
  }

  function updateStage(ev) {
    const item = $(`#progress [data-stage="${ev.stage}"]`);
    if (!item) return;
    const processed = Number(ev.processed) || 0;
    const total = Number(ev.total) || 0;
    const bar = $('progress', item);
    item.dataset.status = ev.status || 'pending';
    $('.stage-status', item).textContent = statusLabel(ev.status || 'pending');
    $('.count', item).textContent = `${fmtCount(processed)} / ${fmtCount(total)}`;
    if (total > 0) {
      bar.max = total;
      bar.value = Math.min(processed, total);
    } else if (ev.status === 'running') {
      bar.removeAttribute('value'); // indeterminate until the total is known
    } else {
      bar.max = 1;
      bar.value = ev.status === 'completed' || ev.status === 'completed_with_errors' ? 1 : 0;
    }
  }

  /** Parses a text/event-stream body, calling onEvent(name, data) per frame;
   *  stops early (cancelling the stream) when onEvent returns true. */
  async function readEventStream(body, onEvent) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let name = '';
    let data = [];
    let stop = false;
    const handleLine = (line) => {
      if (stop) return;
      if (line === '') {
        if (data.length) stop = onEvent(name || 'message', data.join('\n')) === true;
        name = '';
        data = [];
        return;
      }
      if (line.startsWith(':')) return; // keep-alive comment
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') name = value;
    };
    for (;;) {
      const { value, done } = await reader.read();
      let text = buffer + decoder.decode(value || new Uint8Array(), { stream: !done });
      const hold = !done && text.endsWith('\r') ? '\r' : ''; // a CRLF may be split across chunks
      if (hold) text = text.slice(0, -1);
      const lines = text.split(/\r\n|\r|\n/);
      buffer = (done ? '' : lines.pop()) + hold;
      lines.forEach(handleLine);
      if (done) { handleLine(''); return; }
      if (stop) { reader.cancel().catch(() => {}); return; }
    }
  }

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

  // ---------- recent changes ----------
  function renderChange(c) {
    const detected = parseTime(c.detected_at);
    return el('li', { class: 'change', dataset: { changeType: c.change_type || '', impact: c.business_impact || '' } },
      el('span', { class: 'change-name', text: c.employee_name == null ? 'Unknown employee' : c.employee_name }),
      el('span', { class: 'change-desc', text: describeChange(c) }),
      el('span', { class: 'change-meta' },
        el('span', { class: 'change-date', text: `Effective ${fmtDate(c.effective_date)}` }),
        el('span', { class: 'change-detected', title: detected ? fmtDateTime(c.detected_at) : null },
          el('time', { datetime: c.detected_at || null, text: `detected ${relTime(c.detected_at)}` }))));
  }

  async function loadChanges() {
    try {
      const { changes = [] } = await api(`/api/changes?limit=${state.changesLimit}`);
      $('#changes-list').replaceChildren(...changes.map(renderChange));
      $('#changes-empty').hidden = changes.length > 0;
      $('#show-more').hidden = changes.length < state.changesLimit;
    } catch (err) {
      reportError('Could not load recent changes', err);
    }
  }

  function showMore() {
    state.changesLimit += PAGE_SIZE;
    loadChanges();
  }

  // ---------- statistics ----------
  async function loadStats() {
    try {
      const stats = await api('/api/stats');
      for (const tile of document.querySelectorAll('#stats [data-stat]')) {
        const key = tile.dataset.stat;
        const v = stats[key];
        $('.value', tile).textContent = key === 'success_rate'
          ? (typeof v === 'number' ? pctFmt.format(v) : '—')
          : fmtCount(v);
      }
      const rateTile = $('#stats [data-stat="success_rate"]');
      rateTile.title = typeof stats.sessions_total === 'number' ? `of ${plural(stats.sessions_total, 'session')}` : '';
    } catch (err) {
      reportError('Could not load statistics', err);
    }
  }

  // ---------- session history ----------
  const pill = (status) => el('span', { class: 'pill', dataset: { status: status || '' }, text: statusLabel(status) });

  function renderSessionRow(s) {
    const open = () => showSessionDetail(s.id);
    const button = el('button', { type: 'button', class: 'link-button', onclick: open,
      'aria-controls': 'session-detail', 'aria-label': `Show details of the sync requested ${fmtDateTime(s.requested_at)}` },
    fmtDateTime(s.requested_at));
    const td = (label, content, props = {}) => el('td', { 'data-label': label, ...props }, content);
    const row = el('tr', { class: 'session', dataset: { id: s.id, status: s.status || '' } },
      td('Requested', button),
      td('Source', humanize(s.source) || '—'),
      td('Triggered by', orDash(s.triggered_by), { class: 'ellipsis', title: s.triggered_by || null }),
      td('Status', pill(s.status)),
      td('Duration', duration(s.started_at, s.completed_at)),
      td('Employees', fmtCount(s.employees_processed), { class: 'num' }),
      td('Changes', fmtCount(s.changes_detected), { class: 'num' }),
      td('Errors', fmtCount(s.errors_count), { class: 'num' }));
    row.addEventListener('click', (e) => { if (e.target !== button) open(); });
    if (s.id === state.detailId) row.classList.add('selected');
    return row;
  }

  async function loadSessions() {
    try {
      const { sessions = [] } = await api(`/api/sync/sessions?limit=${PAGE_SIZE}`);
      $('#sessions').replaceChildren(...sessions.map(renderSessionRow));
      $('#sessions-empty').hidden = sessions.length > 0;
    } catch (err) {
      reportError('Could not load session history', err);
    }
  }

  async function showSessionDetail(id) {
    state.detailId = id;
    for (const row of document.querySelectorAll('#sessions tr.session')) {
      row.classList.toggle('selected', row.dataset.id === id);
    }
    try {
      renderSessionDetail(await api(`/api/sync/sessions/${encodeURIComponent(id)}`));
      $('#session-detail').focus();
    } catch (err) {
      reportError('Could not load the session', err);
    }
  }

  function renderStagesTable(stages) {
    const head = el('tr', {}, ['Stage', 'Status', 'Processed', 'Started', 'Completed'].map((h) => el('th', { scope: 'col', text: h })));
    const td = (label, content, cls) => el('td', { 'data-label': label, class: cls }, content);
    const rows = stages.map((st) => el('tr', { dataset: { stage: st.stage } },
      td('Stage', capitalize(humanize(st.stage))), td('Status', pill(st.status)),
      td('Processed', `${fmtCount(st.processed)} / ${fmtCount(st.total)}`, 'num'),
      td('Started', fmtDateTime(st.started_at)), td('Completed', fmtDateTime(st.completed_at))));
    return el('div', { class: 'table-wrap' }, el('table', { class: 'stages-table' }, el('thead', {}, head), el('tbody', {}, rows)));
  }

  function renderErrorList(errors) {
    if (!errors.length) return el('p', { class: 'empty', text: 'No errors.' });
    return el('ul', { class: 'error-list' }, errors.map((e) => el('li', {},
      el('span', { class: 'error-stage', text: capitalize(humanize(e.stage)) || 'Error' }),
      e.employee_id ? el('span', { class: 'error-employee', text: `employee ${e.employee_id}` }) : null,
      el('span', { class: 'error-message', text: e.message || 'unknown error' }))));
  }

  function closeSessionDetail() {
    const selected = $('#sessions tr.selected');
    $('#session-detail').hidden = true;
    state.detailId = null;
    if (selected) {
      selected.classList.remove('selected');
      $('button', selected).focus(); // return focus to where the user came from
    }
  }

  function renderSessionDetail(s) {
    const panel = $('#session-detail');
    const close = el('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: closeSessionDetail }, 'Close details');
    const meta = [
      ['Status', pill(s.status)], ['Source', humanize(s.source)], ['Triggered by', orDash(s.triggered_by)],
      ['Scope', s.scope === 'employees' ? `${plural((s.employee_ids || []).length, 'employee')}` : 'Full'],
      ['Requested', fmtDateTime(s.requested_at)], ['Duration', duration(s.started_at, s.completed_at)],
    ];
    if (s.failure_reason) meta.push(['Failure', s.failure_reason, 'wide']);
    panel.replaceChildren(
      el('div', { class: 'card-head' }, el('h3', { text: `Session ${String(s.id).slice(0, 8)}` }), close),
      el('dl', { class: 'detail-grid' }, meta.map(([k, v, cls]) => el('div', { class: cls }, el('dt', { text: k }), el('dd', {}, v)))),
      el('h4', { text: 'Stages' }), renderStagesTable(s.stages || []),
      el('h4', { text: `Errors (${(s.errors || []).length})` }), renderErrorList(s.errors || []));
    panel.hidden = false;
  }

  // ---------- boot ----------
  function refreshData() {
    if (!state.token) return;
    loadChanges();
    loadStats();
    loadSessions();
  }

  function init() {
    readTokenFromFragment();
    $('#signin-form').addEventListener('submit', onSigninSubmit);
    $('#sign-out').addEventListener('click', signOut);
    $('#sync-now').addEventListener('click', startSync);
    $('#show-more').addEventListener('click', showMore);
    window.addEventListener('hashchange', onHashChange);
    document.addEventListener('visibilitychange', () => { if (!document.hidden && state.token) loadStatus(); });
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) startDashboard(token);
    else showSignin('');
  }

  init();
})();
