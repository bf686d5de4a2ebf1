// Real-browser tests of the dashboard at /employes-sync.
//
// The harness (service, browser, helpers) is ./harness.mjs: this file's scenarios run in order
// against one service, signed in as an admin token. Screenshots of each state are saved under
// target/browser-screenshots/.
//
// Run: ./scripts/browser-test.sh (installs Chromium / node_modules when missing, builds the binary,
// runs every tests/browser/*.test.mjs one file at a time), or with a built binary:
// node --test tests/browser/dashboard.test.mjs

import assert from 'node:assert/strict';
import {
  DESKTOP,
  FAST,
  NO_FAULTS,
  PHONE,
  TOKEN,
  authed,
  badge,
  base,
  browser,
  changeItems,
  databaseUrl,
  dbName,
  desk,
  eventually,
  faults,
  json,
  newPage,
  noHorizontalScroll,
  noScriptErrors,
  psql,
  record,
  recorded,
  scenario,
  seeText,
  seeToast,
  sessionRows,
  shot,
  stat,
  syncDisabled,
  text,
  toastTexts,
  toastsSeen,
  useService,
} from './harness.mjs';
import { execFileSync } from 'node:child_process';

useService();

scenario('signing in via the #token= fragment shows an empty dashboard and removes the token from the address bar', async () => {
  await desk.goto(`${base}/employes-sync#token=${TOKEN}`);
  await seeText(desk, '#status-badge', 'Never synced');
  assert.equal(await desk.locator('#status-badge').getAttribute('data-status'), 'never');
  const url = new URL(desk.url());
  assert.equal(url.hash, '', 'the fragment is removed');
  assert.ok(!desk.url().includes(TOKEN), 'the token is not in the address bar');
  assert.ok(await desk.locator('#signin').isHidden());
  assert.ok(await desk.locator('#sign-out').isVisible());
  await seeText(desk, '#stats [data-stat="employees"] .value', '0');
  for (const key of ['employees_with_history', 'changes_24h', 'changes_total', 'errors_total']) {
    assert.equal(await stat(desk, key), '0', key);
  }
  await seeText(desk, '#last-sync', 'Never');
  assert.equal(await text(desk, '#next-sync'), 'Not scheduled');
  assert.ok(await desk.locator('#changes-empty').isVisible(), 'the empty-changes message is shown');
  assert.ok(await desk.locator('#sessions-empty').isVisible(), 'the empty-history message is shown');
  assert.equal(await syncDisabled(desk), false);
  await shot(desk, '01-signed-in-never-synced');
});

scenario('Sync Now shows live progress, then the result, the changes, statistics and the session', async () => {
  await record(desk);
  const started = Date.now();
  await toastsSeen(desk);
  await desk.click('#sync-now');
  await seeToast(desk, 'info', 'Sync started', { timeout: 10_000 });
  // Mid-sync screenshot: wait until a stage counts (best moment to show progress).
  await desk.waitForFunction(() => document.querySelector('#sync-now').disabled
    && [...document.querySelectorAll('#progress .count')].some((c) => /^[1-9]/.test(c.textContent.trim())), null, { timeout: 20_000, polling: 'raf' })
    .then(() => shot(desk, '02-sync-in-progress'), () => {});
  await seeToast(desk, 'success', 'Sync completed — 110 employees, 3 changes', { timeout: 45_000 });
  const took = Date.now() - started;

  // What the user saw while it ran (recorded on every DOM change, so nothing short-lived is missed).
  const log = await recorded(desk);
  const during = log.filter((e) => e.disabled);
  assert.ok(during.length > 0, 'the Sync Now button was disabled during the sync');
  assert.ok(during.some((e) => e.badge === 'Syncing…'), `the badge showed "Syncing…": ${JSON.stringify([...new Set(log.map((e) => e.badge))])}`);
  const counting = during.filter((e) => e.progressVisible && e.stages.some((s) => /^[1-9]/.test(s.count)));
  assert.ok(counting.length > 0, 'stage progress with a non-zero count was visible during the sync');
  assert.ok(during.some((e) => e.stages.some((s) => s.status === 'running')), 'a stage was shown running');
  // The stages run in order: a later stage never counts before the earlier ones finished.
  for (const e of counting) {
    const by = Object.fromEntries(e.stages.map((s) => [s.stage, s]));
    if (by.history.status === 'running') assert.match(by.snapshot.status, /^completed/);
    if (by.changes.status === 'running') assert.match(by.history.status, /^completed/);
  }

  // Afterwards.
  await eventually(async () => !(await syncDisabled(desk)), { what: 'Sync Now to be enabled again' });
  await seeText(desk, '#status-badge', 'All data current');
  assert.equal(await desk.locator('#status-badge').getAttribute('data-status'), 'current');
  await seeText(desk, '#last-sync', /^(just now|1 minute ago)$/);
  await seeText(desk, '#employees-count', '110');
  for (const [stage, count] of [['snapshot', '110 / 110'], ['history', /^\d+ \/ \d+$/], ['changes', /^\d+ \/ \d+$/]]) {
    await seeText(desk, `#progress li[data-stage="${stage}"] .count`, count);
    assert.equal(await desk.locator(`#progress li[data-stage="${stage}"]`).getAttribute('data-status'), 'completed', stage);
  }

  const changes = await eventually(async () => {
    const c = await changeItems(desk);
    if (c.length !== 3) throw new Error(`${c.length} changes listed`);
    return c;
  }, { what: '3 changes listed' });
  assert.deepEqual(changes.map((c) => c.desc).sort(), [
    'Contract fixed → permanent', 'Hours 30 → 40', 'Salary €2,577 → €2,709 (+5.1 %)',
  ].sort());
  for (const c of changes) {
    assert.match(c.name, /\S+ \S+/, 'an employee name');
    assert.match(c.date, /^Effective \d{1,2} [A-Z][a-z]{2} \d{4}$/, 'a readable effective date');
  }
  assert.ok(await desk.locator('#changes-empty').isHidden());
  assert.ok(await desk.locator('#show-more').isHidden(), 'no "show more" for 3 changes');

  await seeText(desk, '#stats [data-stat="employees"] .value', '110');
  assert.equal(await stat(desk, 'changes_total'), '3');
  assert.equal(await stat(desk, 'changes_24h'), '3');
  assert.equal(await stat(desk, 'employees_with_history'), '99');
  assert.equal(await stat(desk, 'errors_total'), '0');
  assert.equal(await stat(desk, 'success_rate'), '100%');

  const rows = await eventually(async () => {
    const r = await sessionRows(desk);
    if (r.length !== 1 || r[0].status !== 'completed') throw new Error(JSON.stringify(r));
    return r;
  }, { what: 'one completed session in the history' });
  const cells = rows[0].cells;
  assert.equal(cells[1], 'api', 'source');
  assert.equal(cells[2], 'browser', 'triggered by (the API token name)');
  assert.equal(cells[3], 'Completed');
  assert.match(cells[4], /^\d+ s$/, 'duration');
  assert.deepEqual(cells.slice(5), ['110', '3', '0']);

  await shot(desk, '03-after-first-sync');

  // Clicking the session shows its stages.
  await desk.click('#sessions > tr.session');
  const detail = desk.locator('#session-detail');
  await detail.waitFor({ state: 'visible', timeout: 5_000 });
  const stages = await detail.locator('table.stages-table tbody tr').evaluateAll((trs) => trs.map((tr) => ({
    stage: tr.dataset.stage, cells: [...tr.cells].map((td) => td.textContent.trim()),
  })));
  assert.deepEqual(stages.map((s) => s.stage), ['snapshot', 'history', 'changes']);
  for (const s of stages) assert.equal(s.cells[1], 'Completed', s.stage);
  assert.equal(stages[0].cells[2], '110 / 110');
  assert.match(await detail.textContent(), /Errors \(0\)/);
  assert.match(await detail.textContent(), /No errors\./);
  assert.ok(await desk.locator('#sessions > tr.session.selected').count() === 1, 'the row is marked selected');
  await shot(desk, '04-session-detail');
  await detail.getByRole('button', { name: 'Close details' }).click();
  await detail.waitFor({ state: 'hidden', timeout: 5_000 });
  console.log(`# first sync took ${took} ms in the browser`);
});

scenario('a sync started through the API shows up without a reload', async () => {
  // Slower upstream so the sync outlasts the page's status poll (every 5 s).
  await faults({ latency_ms: 600 });
  try {
    await desk.evaluate(() => { window.__sameDocument = true; });
    await record(desk);
    await toastsSeen(desk);
    const r = await json('POST', `${base}/api/sync`, {}, authed);
    assert.equal(r.status, 202, JSON.stringify(r.data));
    const id = r.data.session_id;

    await seeText(desk, '#status-badge', 'Syncing…', { timeout: 12_000 });
    assert.equal(await syncDisabled(desk), true, 'Sync Now is disabled while another sync runs');
    assert.equal(await text(desk, '#employees-count'), '110', 'the company\'s employees, not the running sync\'s count');
    await eventually(async () => (await text(desk, '#sync-hint')) === 'A sync is in progress.', { what: 'the hint' });
    await shot(desk, '05-api-sync-running');

    await seeText(desk, '#status-badge', 'All data current', { timeout: 45_000 });
    await eventually(async () => !(await syncDisabled(desk)), { what: 'Sync Now to be enabled again' });
    await seeToast(desk, 'success', 'Sync completed — 110 employees, 0 changes');
    await eventually(async () => {
      const rows = await sessionRows(desk);
      return rows.length === 2 && rows[0].id === id && rows[0].status === 'completed';
    }, { what: 'the API session on top of the history' });
    const log = await recorded(desk);
    assert.ok(log.some((e) => e.disabled && e.progressVisible && e.stages.some((s) => /^[1-9]/.test(s.count))),
      'the page followed the progress of the sync it did not start');
    assert.equal(await desk.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
    assert.equal((await changeItems(desk)).length, 3, 'no new changes');
  } finally {
    await faults(FAST);
  }
});

scenario('a sync with upstream errors ends with a warning toast listing them', async () => {
  await faults({ error_rate: 1.0, error_status: 503, endpoints: ['employments'] });
  try {
    await toastsSeen(desk);
    await desk.click('#sync-now');
    const msg = await seeToast(desk, 'warning', /^Sync completed with warnings — \d+ errors?$/, { timeout: 60_000 });
    const n = Number(/— (\d+)/.exec(msg)[1]);
    assert.ok(n > 0, msg);
    const warning = desk.locator('#toasts .toast[data-kind="warning"]').last();
    const details = await warning.locator('.toast-details li').allTextContents();
    assert.ok(details.length > 0 && details.length <= 10, `errors listed in the toast: ${details.length}`);
    // In plain words, with the employee's name: no HTTP status, no id (issue 21).
    assert.match(details[0], /^History: Employes had a temporary problem while we read their contracts and wages — \S/, details[0]);
    assert.doesNotMatch(details[0], /503|[0-9a-f]{8}-[0-9a-f]{4}-/, details[0]);
    await eventually(async () => !(await syncDisabled(desk)), { what: 'Sync Now to be enabled again' });
    await eventually(async () => (await sessionRows(desk))[0]?.status === 'completed_with_errors', { what: 'the session row' });
    await seeText(desk, '#stats [data-stat="errors_total"] .value', String(n));
    await shot(desk, '06-sync-completed-with-warnings');
    await warning.getByRole('button', { name: 'Dismiss notification' }).click();
    await eventually(async () => (await toastTexts(desk, 'warning')).length === 0, { what: 'the warning to be dismissed' });
    console.log(`# warning toast: ${msg}`);
  } finally {
    await faults(NO_FAULTS);
  }
});

scenario('a sync Employes refuses ends with a failed toast and the Error badge', async () => {
  await faults({ reject_auth: true });
  try {
    await toastsSeen(desk);
    await desk.click('#sync-now');
    await seeToast(desk, 'error', 'Sync failed — Employes rejected the API key', { timeout: 30_000 });
    await seeText(desk, '#status-badge', 'Error');
    assert.equal(await desk.locator('#status-badge').getAttribute('data-status'), 'error');
    await eventually(async () => !(await syncDisabled(desk)), { what: 'Sync Now to be enabled again' });
    await eventually(async () => (await sessionRows(desk))[0]?.status === 'failed', { what: 'the failed session row' });
    await shot(desk, '07-sync-failed');
  } finally {
    await faults(NO_FAULTS);
  }
  // Recovers with the next sync.
  await desk.locator('#toasts .toast[data-kind="error"] .toast-close').click();
  await toastsSeen(desk);
  await desk.click('#sync-now');
  await seeToast(desk, 'success', 'Sync completed — 110 employees, 0 changes', { timeout: 30_000 });
  await seeText(desk, '#status-badge', 'All data current');
});

scenario('a wrong token brings the sign-in form with a message', async () => {
  const page = await newPage(DESKTOP, 'wrong-token');
  try {
    await page.goto(`${base}/employes-sync#token=not-the-right-token-0123456789`);
    await page.locator('#signin').waitFor({ state: 'visible', timeout: 10_000 });
    await seeText(page, '#signin-message', /sign in again/i);
    assert.ok(await page.locator('#signin-message').isVisible());
    assert.ok(await page.locator('#dashboard').isHidden());
    assert.equal(new URL(page.url()).hash, '');
    await shot(page, '08-wrong-token');

    // Typing a wrong token in the form: the same message; the right one opens the dashboard.
    await page.fill('#token-input', 'still-wrong-token-abcdefghijkl');
    const refused = page.waitForResponse((r) => r.url().includes('/api/') && r.status() === 401, { timeout: 10_000 });
    await page.click('#signin-button');
    await refused;
    await eventually(async () => (await page.locator('#signin').isVisible()) && (await page.locator('#dashboard').isHidden()),
      { what: 'the sign-in form again' });
    await seeText(page, '#signin-message', /sign in again/i);
    await page.fill('#token-input', TOKEN);
    await page.click('#signin-button');
    await seeText(page, '#status-badge', 'All data current');
    assert.ok(await page.locator('#signin').isHidden());
  } finally {
    await page.context().close();
  }
});

scenario('on a phone (412 px wide) the dashboard fits the screen', async () => {
  const page = await newPage(PHONE, 'phone');
  try {
    await page.goto(`${base}/employes-sync#token=${TOKEN}`);
    await seeText(page, '#status-badge', 'All data current');
    await eventually(async () => (await changeItems(page)).length === 3, { what: 'the changes' });
    await eventually(async () => (await sessionRows(page)).length >= 4, { what: 'the sessions' });
    await noHorizontalScroll(page);
    await shot(page, '09-phone');
    await page.click('#sessions > tr.session >> nth=1');
    await page.locator('#session-detail').waitFor({ state: 'visible', timeout: 5_000 });
    await noHorizontalScroll(page);
    await shot(page, '10-phone-session-detail');
    // A sync on the phone: progress and toast still fit.
    await page.click('#sync-now');
    await seeToast(page, 'success', /^Sync completed — 110 employees/, { timeout: 45_000 });
    await noHorizontalScroll(page);
    await shot(page, '11-phone-after-sync', false);
  } finally {
    await page.context().close();
  }
});

scenario('quiet checks (watches that found nothing) are hidden until "Show quiet checks" is ticked', async () => {
  // A quiet watch, the newest session (the service watches every 5 min; this run is shorter).
  execFileSync('psql', [databaseUrl(dbName), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c',
    `INSERT INTO sync_sessions (id, company_id, source, triggered_by, scope, status, requested_at, started_at,
                                completed_at, employees_processed, request_id)
     SELECT gen_random_uuid(), id, 'watch', 'system', 'full', 'completed', now(), now(), now() + interval '1 second',
            110, 'browser-quiet-watch' FROM companies LIMIT 1`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const sources = async () => (await sessionRows(desk)).map((r) => r.cells[1]);
  await desk.reload(); // the tab keeps its token
  await eventually(async () => (await sessionRows(desk)).length >= 4, { what: 'the session history' });
  assert.ok(!(await desk.locator('#show-quiet').isChecked()), 'hidden by default');
  assert.ok(!(await sources()).includes('watch'), 'no quiet check listed by default');
  await desk.check('#show-quiet');
  await eventually(async () => (await sources())[0] === 'watch', { what: 'the quiet check on top once asked for' });
  await shot(desk, '12-quiet-checks-shown');
  await desk.uncheck('#show-quiet');
  await eventually(async () => !(await sources()).includes('watch'), { what: 'the quiet check hidden again' });
});

scenario('employees: a name in the changes opens their page with chart and contract bar; the search box finds them', async () => {
  await desk.goto(`${base}/employes-sync`); // the tab keeps its token
  await seeText(desk, '#status-badge', 'All data current');
  // The search box lists the first page of employees, with more to show.
  await eventually(async () => (await desk.locator('#employee-results > li').count()) === 10, { what: '10 employees listed' });
  assert.ok(await desk.locator('#employees-more').isVisible(), '"Show more" for 110 employees');
  await desk.click('#employees-more');
  await eventually(async () => (await desk.locator('#employee-results > li').count()) === 20, { what: '20 employees after "Show more"' });

  // A change's employee name links to their page.
  const link = desk.locator('#changes-list a.change-name').first();
  const name = (await link.textContent()).trim();
  await link.click();
  await eventually(() => /^#\/employees\/[0-9a-f-]{36}$/.test(new URL(desk.url()).hash), { what: 'the employee route' });
  const id = new URL(desk.url()).hash.split('/')[2];
  await desk.locator('#employee-page').waitFor({ state: 'visible', timeout: 5_000 });
  assert.ok(await desk.locator('#dashboard').isHidden(), 'the dashboard cards are hidden on the employee page');
  await seeText(desk, '#employee-name', name);
  const facts = await desk.locator('.employee-facts dd').allTextContents();
  assert.equal(facts.length, 3);
  assert.ok(facts.every((f) => f.trim() !== '—'), `contract, hours and wage shown: ${JSON.stringify(facts)}`);
  const api = (await json('GET', `${base}/api/employees/${id}`, undefined, authed)).data;
  assert.ok(api.timeline.salary.length > 0, JSON.stringify(api.timeline));
  assert.equal(await desk.locator('svg.chart path.line.wage').count(), 1, 'the wage line');
  assert.equal(await desk.locator('svg.chart path.line.hours').count(), api.timeline.hours.length ? 1 : 0, 'the hours line');
  assert.equal(await desk.locator('svg.contract-bar rect.bar').count(), api.timeline.contracts.length, 'one bar per contract');
  assert.equal(await desk.locator('#employee-changes > li').count(), api.changes.length, 'their changes');
  assert.match(await desk.locator('svg.contract-bar').getAttribute('aria-label'), /^Contracts of /);
  await shot(desk, '13-employee-page');

  // Back to the dashboard, then the search box finds them by part of their surname.
  await desk.click('#employee-back');
  await desk.locator('#dashboard').waitFor({ state: 'visible', timeout: 5_000 });
  assert.ok(await desk.locator('#employee-page').isHidden());
  const part = name.split(' ').pop().slice(0, 4).toLowerCase();
  await desk.fill('#employee-q', part);
  await eventually(async () => {
    const names = await desk.locator('#employee-results a.employee-link').allTextContents();
    return names.length > 0 && names.every((n) => n.toLowerCase().includes(part)) && names.includes(name);
  }, { what: `the search for "${part}" to list ${name}` });
  await shot(desk, '14-employee-search');
  await desk.fill('#employee-q', 'zzzz-nobody');
  await desk.locator('#employees-empty').waitFor({ state: 'visible', timeout: 5_000 });
  await desk.fill('#employee-q', '');

  // On a phone the employee page fits the screen.
  const page = await newPage(PHONE, 'phone-employee');
  try {
    await page.goto(`${base}/employes-sync#token=${TOKEN}`);
    await seeText(page, '#status-badge', 'All data current');
    await page.evaluate((to) => { location.hash = to; }, `#/employees/${id}`);
    await seeText(page, '#employee-name', name);
    await noHorizontalScroll(page);
    await shot(page, '15-phone-employee-page');
  } finally {
    await page.context().close();
  }
});

scenario('the "Demo data — built-in simulator" banner is on the dashboard while a company is simulated', async () => {
  // The service runs its built-in simulator (EMPLOYES_API_URL unset): its company is simulated.
  await desk.goto(`${base}/employes-sync#token=${TOKEN}`);
  await desk.locator('#demo-banner').waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await text(desk, '#demo-banner'), /^Demo data — built-in simulator/);
  await shot(desk, '16-demo-banner');
  // Signed out, nothing is known about the companies: no banner; signed in again, it is back.
  await desk.click('#sign-out');
  assert.ok(await desk.locator('#demo-banner').isHidden(), 'hidden on the sign-in form');
  await desk.goto(`${base}/employes-sync#token=${TOKEN}`);
  await desk.locator('#demo-banner').waitFor({ state: 'visible', timeout: 10_000 });
});

noScriptErrors();
