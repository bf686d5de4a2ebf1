// Real-browser tests of the dashboard's honest status, live updates, Issues and Sessions pages
// (issue 21, items 2, 3, 7, 8, and the bugs listed with them): one service for the file, its
// built-in simulator, signed in as an admin token.
//
// Run: ./scripts/browser-test.sh, or with a built binary:
// EMPLOYES_SYNC_BIN=target/debug/employes-sync node --test tests/browser/live-issues.test.mjs

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  FAST,
  NO_FAULTS,
  TOKEN,
  authed,
  base,
  databaseUrl,
  dbName,
  desk,
  eventually,
  faults,
  json,
  noScriptErrors,
  record,
  recorded,
  scenario,
  seeText,
  seeToast,
  shot,
  syncDisabled,
  text,
  toastsSeen,
  useService,
} from './harness.mjs';
import { axeViolations, readmeShot } from './flows.mjs';

const WEBHOOK_KEY = randomBytes(24);
const WEBHOOK_SECRET = `whsec_${WEBHOOK_KEY.toString('base64')}`;

// Watches only when a scenario turns them on (a watch every 5 min would add sessions at random).
useService({ WEBHOOK_SECRET, WATCH_INTERVAL: 'off', API_TOKENS: `browser:${TOKEN}:admin` });

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** A Standard Webhooks delivery of `body`, signed with the service's WEBHOOK_SECRET. */
async function webhook(body) {
  const id = `msg_${randomBytes(8).toString('hex')}`;
  const ts = Math.floor(Date.now() / 1000);
  const raw = JSON.stringify(body);
  const signature = createHmac('sha256', WEBHOOK_KEY).update(`${id}.${ts}.${raw}`).digest('base64');
  const res = await fetch(`${base}/webhooks/employes`, {
    method: 'POST', body: raw,
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${signature}` },
  });
  assert.equal(res.status, 202, await res.text());
}

const api = async (path) => {
  const r = await json('GET', `${base}${path}`, undefined, authed);
  assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.data)}`);
  return r.data;
};

/** The session `id` once it has ended. */
const ended = (id) => eventually(async () => {
  const s = await api(`/api/sync/sessions/${id}`);
  return s.status !== 'queued' && s.status !== 'running' && s;
}, { timeout: 60_000, what: `session ${id} to end` });

/** Times (ms) of the requests the page makes whose path starts with `prefix`. */
function requestLog(page, prefix) {
  const log = [];
  page.on('request', (r) => { const u = new URL(r.url()); if (u.pathname.startsWith(prefix)) log.push({ at: Date.now(), path: u.pathname + u.search }); });
  return log;
}

let statusRequests;
let eventRequests;
let employeeCount;

scenario('after the first sync the status card says when data was last current and counts the company\'s employees', async () => {
  statusRequests = requestLog(desk, '/api/sync/status');
  eventRequests = requestLog(desk, '/api/sync/sessions/');
  await desk.goto(`${base}/employes-sync#token=${TOKEN}`);
  await seeText(desk, '#status-badge', 'Never synced');
  await seeText(desk, '#latest-problem', 'None');
  await desk.click('#sync-now');
  await seeToast(desk, 'success', /^Sync completed — \d+ employees, 3 changes$/, { timeout: 60_000 });
  employeeCount = (await api('/api/stats')).employees;
  await seeText(desk, '#status-badge', 'All data current');
  await seeText(desk, '#last-sync', /^(just now|1 minute ago)$/);
  await seeText(desk, '#employees-count', String(employeeCount));
  await shot(desk, 'live-01-first-sync');
});

scenario('a one-employee webhook sync of about a second is followed live through its event stream, with no polling while it runs, and "Employees" stays the company\'s count', async () => {
  await faults({ latency_ms: 250 }); // the sync lasts about a second: far shorter than any poll
  try {
    await record(desk);
    await toastsSeen(desk);
    const [employee] = (await api('/api/employees?limit=1')).employees;
    const sent = Date.now();
    await webhook({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { employee_id: employee.id } });
    const msg = await seeToast(desk, 'success', 'Sync completed — 1 employee, 0 changes', { timeout: 30_000 });
    const [session] = (await api('/api/sync/sessions?limit=1&source=webhook')).sessions;
    const done = await ended(session.id);
    const started = Date.parse(done.started_at);
    const completed = Date.parse(done.completed_at);
    assert.ok(completed - started < 5_000, `the sync was short: ${completed - started} ms`);

    // The page opened the session's stream while it ran (told by the activity stream), …
    const follow = eventRequests.find((r) => r.path === `/api/sync/sessions/${session.id}/events`);
    assert.ok(follow && follow.at >= sent && follow.at <= completed + 50,
      `the page followed the session before it ended: ${JSON.stringify(follow)}, ended ${completed}`);
    const log = await recorded(desk);
    assert.ok(log.some((e) => e.badge === 'Syncing…' && e.progressVisible && e.disabled), 'seen running: badge, progress, Sync Now disabled');
    // … and read no status while it ran.
    const polled = statusRequests.filter((r) => r.at > started && r.at < completed);
    assert.deepEqual(polled, [], 'no status request while the sync ran');
    // The company still has all its employees (the bug: "Employees synced" said 1).
    await seeText(desk, '#employees-count', String(employeeCount));
    await seeText(desk, '#status-badge', 'All data current');
    console.log(`# webhook sync ${completed - started} ms; followed ${follow.at - started} ms after it started; toast "${msg}"`);
    await shot(desk, 'live-02-after-webhook-sync');
  } finally {
    await faults(FAST);
  }
});

let failedEmployees;

scenario('a sync that completed with errors never shows "All data current": the badge and "Latest problem" say so, the toast speaks plainly', async () => {
  await faults({ error_rate: 1.0, error_status: 500, endpoints: ['employments'] });
  try {
    await toastsSeen(desk);
    await desk.click('#sync-now');
    const msg = await seeToast(desk, 'warning', /^Sync completed with warnings — \d+ errors?$/, { timeout: 60_000 });
    const n = Number(/— (\d+)/.exec(msg)[1]);
    await seeText(desk, '#status-badge', `Current — last sync had ${n} error${n === 1 ? '' : 's'}`);
    assert.equal(await desk.locator('#status-badge').getAttribute('data-status'), 'warning');
    await seeText(desk, '#latest-problem', new RegExp(`^${n} errors? in the sync (just now|1 minute ago)$`));
    assert.ok(await desk.locator('#problem-link').isVisible(), 'a link to what to do');
    const details = await desk.locator('#toasts .toast[data-kind="warning"]').last().locator('.toast-details li').allTextContents();
    assert.ok(details.length > 0, 'errors listed in the toast');
    for (const line of details) {
      assert.doesNotMatch(line, UUID, `no employee UUID: ${line}`);
      assert.doesNotMatch(line, /answered 500|GET \/employees|attempts/, `no raw HTTP wording: ${line}`);
      assert.match(line, /^History: Employes had a temporary problem while we read their contracts and wages — \S/, line);
    }
    const session = (await api('/api/sync/sessions?limit=1')).sessions[0];
    failedEmployees = (await api(`/api/sync/sessions/${session.id}`)).errors.map((e) => e.employee_id);
    await shot(desk, 'live-03-completed-with-errors');
  } finally {
    await faults(NO_FAULTS);
  }
});

scenario('the Issues page explains the errors with names and advice, and "Retry failed employees" syncs just them', async () => {
  await desk.click('#problem-link');
  await desk.locator('#issues-page').waitFor({ state: 'visible', timeout: 5_000 });
  const items = desk.locator('#latest-errors .error-list > li');
  await eventually(async () => (await items.count()) === Math.min(failedEmployees.length, 20), { what: 'the first 20 errors listed' });
  if (failedEmployees.length > 20) {
    assert.equal((await desk.locator('#latest-errors .error-more').textContent()).trim(),
      `… and ${failedEmployees.length - 20} more errors of the same kind.`);
  }
  const names = await items.locator('.error-employee').allTextContents();
  assert.ok(names.every((n) => !UUID.test(n) && n !== 'an employee no longer stored'), `every listed error names its employee: ${names}`);
  const first = items.first();
  const name = (await first.locator('a.error-employee').textContent()).trim();
  assert.doesNotMatch(name, UUID, 'a name, not an id');
  assert.match(await first.locator('.error-message').textContent(), /^Employes had a temporary problem while we read their contracts and wages\.$/);
  assert.match(await first.locator('.error-advice').textContent(), /retry/i);
  assert.ok(!(await first.locator('.error-technical code').isVisible()), 'the technical message is folded away');
  await first.locator('.error-technical summary').click();
  assert.match(await first.locator('.error-technical code').textContent(), /^upstream_status: Employes answered 500/);
  const retry = desk.locator('#retry-slot button.retry-failed');
  assert.equal((await retry.textContent()).trim(), `Retry failed employees (${new Set(failedEmployees).size})`);
  await shot(desk, 'live-04-issues-errors');
  await readmeShot(desk, 'issues');

  await toastsSeen(desk);
  await retry.click();
  await seeToast(desk, 'success', `Sync completed — ${new Set(failedEmployees).size} employee${new Set(failedEmployees).size === 1 ? '' : 's'}, 0 changes`, { timeout: 60_000 });
  const [latest] = (await api('/api/sync/sessions?limit=1')).sessions;
  assert.equal(latest.scope, 'employees', 'a targeted sync');
  const detail = await api(`/api/sync/sessions/${latest.id}`);
  assert.deepEqual([...detail.employee_ids].sort(), [...new Set(failedEmployees)].sort(), 'of exactly the failed employees');
  await seeText(desk, '#latest-errors-summary', /had no errors\.$/);
  assert.equal(await desk.locator('#retry-slot button').count(), 0, 'nothing left to retry');
  await shot(desk, 'live-05-issues-after-retry');
});

scenario('a rejected API key becomes an open issue in plain words with what to do', async () => {
  await faults({ reject_auth: true });
  try {
    await desk.goto(`${base}/employes-sync#/`);
    await desk.locator('#dashboard').waitFor({ state: 'visible', timeout: 5_000 });
    await toastsSeen(desk);
    await eventually(async () => !(await syncDisabled(desk)), { what: 'Sync Now enabled' });
    await desk.click('#sync-now');
    await seeToast(desk, 'error', 'Sync failed — Employes rejected the API key', { timeout: 30_000 });
    await seeText(desk, '#status-badge', 'Error');
    await seeText(desk, '#latest-problem', /^Sync failed (just now|1 minute ago)$/);
    await desk.click('#problem-link');
    const issue = desk.locator('#issues-open > li.issue[data-kind="auth_failed"]');
    await issue.waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal((await issue.locator('.issue-title').textContent()).trim(), 'The API key was rejected');
    assert.equal((await issue.locator('.issue-advice').textContent()).trim(), 'Create a new key in Employes and update it under Companies.');
    await shot(desk, 'live-06-issue-auth-failed');
  } finally {
    await faults(NO_FAULTS);
  }
  await desk.goto(`${base}/employes-sync#/`);
  await toastsSeen(desk);
  await eventually(async () => !(await syncDisabled(desk)), { what: 'Sync Now enabled' });
  await desk.click('#sync-now');
  await seeToast(desk, 'success', /^Sync completed/, { timeout: 60_000 });
  await seeText(desk, '#status-badge', 'All data current');
  await desk.goto(`${base}/employes-sync#/issues`);
  await desk.locator('#issues-resolved > li.issue[data-kind="auth_failed"]').waitFor({ state: 'visible', timeout: 10_000 });
  assert.equal(await desk.locator('#issues-open > li').count(), 0, 'resolved by the sync that worked');
});

scenario('the Sessions page pages through the whole history and filters by source and status; quiet checks only when asked', async () => {
  // 40 quiet watches and 30 failed API sessions, older than everything else.
  execFileSync('psql', [databaseUrl(dbName), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c',
    `INSERT INTO sync_sessions (id, company_id, source, triggered_by, scope, status, requested_at, started_at,
                                completed_at, employees_processed, request_id)
     SELECT gen_random_uuid(), c.id, 'watch', 'system', 'full', 'completed', now() - n * interval '1 hour',
            now() - n * interval '1 hour', now() - n * interval '1 hour' + interval '1 second', 110, 'browser-quiet-' || n
     FROM companies c, generate_series(1, 40) n;
     INSERT INTO sync_sessions (id, company_id, source, triggered_by, scope, status, requested_at, started_at,
                                completed_at, failure_reason, request_id)
     SELECT gen_random_uuid(), c.id, 'api', 'ci', 'full', 'failed', now() - n * interval '1 day',
            now() - n * interval '1 day', now() - n * interval '1 day' + interval '2 seconds', 'Employes rejected the API key', 'browser-failed-' || n
     FROM companies c, generate_series(1, 30) n`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const all = (await api('/api/sync/sessions?limit=500&quiet=false')).sessions.length;
  const rows = () => desk.locator('#history-rows > tr.session').evaluateAll((trs) => trs.map((tr) => ({ source: tr.dataset.source, status: tr.dataset.status })));

  await desk.goto(`${base}/employes-sync#/sessions`);
  await desk.locator('#sessions-page').waitFor({ state: 'visible', timeout: 5_000 });
  await eventually(async () => (await rows()).length === Math.min(all, 25), { what: 'the first page' });
  assert.ok((await rows()).every((r) => r.source !== 'watch'), 'quiet checks hidden by default');
  await readmeShot(desk, 'sessions');
  assert.ok(all > 25, `more than a page without the quiet checks: ${all}`);
  await desk.click('#history-more');
  await eventually(async () => (await rows()).length === all, { what: 'every session after "Show more"' });
  assert.ok(await desk.locator('#history-more').isHidden(), 'no more pages');

  await desk.selectOption('#history-status', 'failed');
  await eventually(async () => { const r = await rows(); return r.length >= 6 && r.every((s) => s.status === 'failed'); }, { what: 'only failed sessions' });
  assert.match(new URL(desk.url()).hash, /^#\/sessions\?status=failed$/, 'the filter is in the address');
  await desk.selectOption('#history-source', 'webhook');
  await eventually(async () => (await rows()).length === 0 && desk.locator('#history-empty').isVisible(), { what: 'no failed webhook session' });
  await desk.selectOption('#history-status', '');
  await eventually(async () => { const r = await rows(); return r.length >= 1 && r.every((s) => s.source === 'webhook'); }, { what: 'only webhook sessions' });
  await desk.selectOption('#history-source', 'watch');
  await eventually(async () => (await rows()).length === 0, { what: 'no watch session without the quiet checks' });
  await desk.check('#history-quiet');
  await eventually(async () => (await rows()).length === 25 && (await rows()).every((s) => s.source === 'watch'), { what: 'quiet checks once asked' });
  await shot(desk, 'live-07-sessions-quiet-watches');

  // A row opens its detail; the page keeps the filters on reload.
  await desk.reload();
  await eventually(async () => (await rows()).length === 25, { what: 'the filtered list after a reload' });
  assert.equal(await desk.locator('#history-source').inputValue(), 'watch');
  assert.ok(await desk.locator('#history-quiet').isChecked());
  await desk.click('#history-rows > tr.session >> nth=0');
  await desk.locator('#history-detail').waitFor({ state: 'visible', timeout: 5_000 });
  assert.match(await text(desk, '#history-detail h3'), /^Session [0-9a-f]{8}$/);
  await shot(desk, 'live-08-sessions-detail');
});

scenario('a watch (an incremental check nobody asked for) is followed live too, and listed only with the quiet checks', async () => {
  const [company] = (await api('/api/companies')).companies;
  const since = Date.now();
  const patch = (watch) => json('PATCH', `${base}/api/companies/${company.id}`, { watch_interval: watch }, authed);
  assert.equal((await patch('2s')).status, 200);
  let watch;
  try {
    watch = await eventually(async () => {
      const [s] = (await api('/api/sync/sessions?limit=1&source=watch&status=completed')).sessions;
      return s && Date.parse(s.requested_at) > since && s;
    }, { timeout: 30_000, what: 'a watch session' });
  } finally {
    assert.equal((await patch('off')).status, 200);
  }
  await ended(watch.id);
  await eventually(() => eventRequests.some((r) => r.path === `/api/sync/sessions/${watch.id}/events`), { what: 'the page to follow the watch' });
  // Every watch that ran has ended (watches are off again).
  await eventually(async () => (await api('/api/sync/sessions?limit=500&source=watch')).sessions
    .every((s) => s.status !== 'queued' && s.status !== 'running'), { timeout: 30_000, what: 'the watches to end' });
  // Quiet (nothing found): hidden under Sessions until asked for; the list is the API's without them.
  const loud = (await api('/api/sync/sessions?limit=500&source=watch&quiet=false')).sessions.map((s) => s.id);
  assert.ok(!loud.includes(watch.id), 'the watch was quiet');
  await desk.goto(`${base}/employes-sync#/sessions?source=watch`);
  const listed = () => desk.locator('#history-rows > tr.session').evaluateAll((trs) => trs.map((tr) => tr.dataset.id));
  await eventually(async () => JSON.stringify(await listed()) === JSON.stringify(loud.slice(0, 25)), { what: 'the watches that were not quiet only' });
  if (!loud.length) await desk.locator('#history-empty').waitFor({ state: 'visible', timeout: 5_000 });
  await desk.check('#history-quiet');
  await desk.locator(`#history-rows > tr.session[data-id="${watch.id}"]`).waitFor({ timeout: 5_000 });
});

/** `n word(s)` as the page writes it (en-GB). */
const count = (n, word) => `${n.toLocaleString('en-GB')} ${word}${n === 1 ? '' : 's'}`;

scenario('two syncs of one company at once each get a progress row of their own, each followed through its own events and ending with its own figures', async () => {
  await faults({ latency_ms: 400 }); // the full sync lasts seconds: long enough to start a second beside it
  try {
    await desk.goto(`${base}/employes-sync#/`);
    await desk.locator('#dashboard').waitFor({ state: 'visible', timeout: 5_000 });
    await eventually(async () => !(await syncDisabled(desk)), { what: 'Sync Now enabled' });
    await record(desk);
    await toastsSeen(desk);
    eventRequests.length = 0;

    // A full sync, and while it runs a targeted one of two employees: two sessions at once.
    const full = await json('POST', `${base}/api/sync`, {}, authed);
    assert.equal(full.status, 202, JSON.stringify(full.data));
    await eventually(async () => (await api(`/api/sync/sessions/${full.data.session_id}`)).status === 'running', { what: 'the full sync to run' });
    const two = (await api('/api/employees?limit=2')).employees.map((e) => e.id);
    const targeted = await json('POST', `${base}/api/sync`, { employee_ids: two }, authed);
    assert.equal(targeted.status, 202, JSON.stringify(targeted.data));
    assert.equal(targeted.data.coalesced, false, 'a session of its own');
    await desk.waitForFunction(() => document.querySelectorAll('#progress-runs > li.run[data-ended="false"]').length === 2, null,
      { timeout: 20_000, polling: 'raf' }).then(async () => {
      await shot(desk, 'live-09-two-syncs-running');
      await readmeShot(desk, 'two-syncs');
    }, () => {});
    const fullDone = await ended(full.data.session_id);
    const targetedDone = await ended(targeted.data.session_id);
    assert.ok(Date.parse(targetedDone.started_at) < Date.parse(fullDone.completed_at)
      && Date.parse(fullDone.started_at) < Date.parse(targetedDone.completed_at), 'the two sessions ran at the same time');

    // Each ends in its own row with its own figures, and with its own toast.
    const figures = (s) => `Completed — ${count(s.employees_processed, 'employee')}, ${count(s.changes_detected, 'change')}`;
    const rowOf = (s) => desk.locator(`#progress-runs > li.run[data-session="${s.id}"]`);
    for (const [s, title] of [[fullDone, 'Full sync · API'], [targetedDone, '2 employees · API']]) {
      assert.equal(s.status, 'completed', JSON.stringify(s));
      await seeText(desk, `#progress-runs > li.run[data-session="${s.id}"] .run-result`, figures(s), { timeout: 20_000 });
      assert.equal((await rowOf(s).locator('.run-title').textContent()).trim(), title);
      for (const st of s.stages) {
        assert.equal((await rowOf(s).locator(`[data-stage="${st.stage}"] .count`).textContent()).trim(),
          `${st.processed.toLocaleString('en-GB')} / ${st.total.toLocaleString('en-GB')}`, `${title}: ${st.stage}`);
      }
      await seeToast(desk, 'success', `Sync completed — ${count(s.employees_processed, 'employee')}, ${count(s.changes_detected, 'change')}`);
      assert.ok(eventRequests.some((r) => r.path === `/api/sync/sessions/${s.id}/events`), `${title}: its own event stream`);
    }
    assert.equal(fullDone.employees_processed, employeeCount, 'the full sync\'s own figure');
    assert.equal(targetedDone.employees_processed, 2, 'the targeted sync\'s own figure');
    assert.equal(await desk.locator('#progress-runs > li.run').count(), 2, 'one row per session');
    assert.deepEqual(await axeViolations(desk), [], 'the rows pass axe-core');

    // What the page showed all along: both running at once; a row, once shown, never left; the
    // badge said "Syncing…" and Sync Now was disabled while either ran.
    const log = await recorded(desk);
    const ids = [fullDone.id, targetedDone.id];
    assert.ok(log.some((e) => ids.every((id) => e.runs.some((r) => r.session === id && !r.ended))), 'both shown running at once');
    for (const id of ids) {
      const first = log.findIndex((e) => e.runs.some((r) => r.session === id));
      assert.ok(first >= 0, `a row for ${id}`);
      const gone = log.slice(first).find((e) => !e.runs.some((r) => r.session === id));
      assert.equal(gone, undefined, `the row of ${id} never vanished`);
    }
    const busy = log.filter((e) => e.runs.some((r) => !r.ended));
    assert.ok(busy.length > 0);
    assert.deepEqual(busy.filter((e) => e.badge !== 'Syncing…' || !e.disabled).map((e) => e.badge), [],
      'the badge says "Syncing…" and Sync Now is disabled while any session runs');
    const endedFirst = log.find((e) => e.runs.some((r) => r.ended) && e.runs.some((r) => !r.ended));
    console.log(`# two syncs at once: full ${Date.parse(fullDone.completed_at) - Date.parse(fullDone.started_at)} ms, targeted `
      + `${Date.parse(targetedDone.completed_at) - Date.parse(targetedDone.started_at)} ms; one ended while the other ran on the page: ${Boolean(endedFirst)}`);
    await shot(desk, 'live-10-two-syncs-ended');
  } finally {
    await faults(FAST);
  }
});

noScriptErrors();
