// Real-browser tests of the dashboard at /employes-sync.
//
// Starts everything itself: a throwaway nats-server (JetStream), a fresh Postgres database and
// the real `employes-sync serve` binary with its in-process Employes simulator, then drives the
// system Chromium (headless) through what an HR admin does. Screenshots of each state are saved
// under target/browser-screenshots/.
//
// Run: ./scripts/browser-test.sh (installs Chromium / node_modules when missing, builds the binary)
// or, with a built binary: node --test tests/browser/dashboard.test.mjs (a directory argument
// only works on Node 20; Node 21+ takes files or globs)
//
// Environment: TEST_DATABASE_URL (a Postgres we may create databases on; default
// postgres://postgres@127.0.0.1:5432/postgres), NATS_SERVER_BIN (default /usr/sbin/nats-server),
// EMPLOYES_SYNC_BIN (skip the cargo build and use this binary), CHROMIUM (default /usr/bin/chromium),
// TEST_LOG=1 (echo the service's log), UPDATE_README_SCREENSHOT=1 (copy the dashboard after the
// first sync to docs/dashboard.png, the README's picture).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = path.join(ROOT, 'target/browser-screenshots');
const LOGS = path.join(ROOT, 'target/browser-test-logs');
const ADMIN_DB = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS_BIN = process.env.NATS_SERVER_BIN || '/usr/sbin/nats-server';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];
const TOKEN = `brw-${randomBytes(18).toString('hex')}`; // 40 chars
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 412, height: 900 };
const FAST = { rate_limit: 1000, latency_ms: 40 };
const NO_FAULTS = { error_rate: 0, reject_auth: false, endpoints: null, ...FAST };

// ---------------------------------------------------------------- harness

const children = [];
let tmpDir;
let dbName;
let base; // http://127.0.0.1:<port>
let sim; // http://127.0.0.1:<port>
let browser;
let desk; // the desktop page, signed in, used by the scenarios in order
const pageErrors = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Retries `fn` (which throws or returns a falsy value while not yet there) until it passes. */
async function eventually(fn, { timeout = 15_000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v !== false && v !== undefined && v !== null) return v;
      last = new Error(`${what}: got ${JSON.stringify(v)}`);
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      last.message = `timed out after ${timeout} ms waiting for ${what}: ${last.message}`;
      throw last;
    }
    await sleep(interval);
  }
}

function tcpOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function startChild(name, cmd, args, env) {
  const log = fs.createWriteStream(path.join(LOGS, `${name}.log`));
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    stream.pipe(log, { end: false });
    if (process.env.TEST_LOG) stream.pipe(process.stderr, { end: false });
  }
  child.exitedEarly = new Promise((resolve) => child.once('exit', (code, sig) => resolve(`${name} exited (${code ?? sig})`)));
  children.push(child);
  return child;
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

// A crash of the test process must not leave the service or nats-server behind.
process.on('exit', () => { for (const c of children) { try { c.kill('SIGKILL'); } catch (_) { /* gone */ } } });
// Interrupted (Ctrl-C, a timeout): also drop the database before going.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const c of children) { try { c.kill('SIGKILL'); } catch (_) { /* gone */ } }
    if (dbName) { try { psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`); } catch (_) { /* best effort */ } }
    process.exit(130);
  });
}

function psql(sql) {
  execFileSync('psql', [ADMIN_DB, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function databaseUrl(name) {
  const m = /^(postgres(?:ql)?:\/\/[^/?#]+)(?:\/[^?#]*)?(\?[^#]*)?$/.exec(ADMIN_DB);
  assert.ok(m, `TEST_DATABASE_URL not understood: ${ADMIN_DB}`);
  return `${m[1]}/${name}${m[2] || ''}`;
}

async function json(method, url, body, headers = {}) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data;
  try { data = JSON.parse(text); } catch (_) { data = text; }
  return { status: res.status, data };
}

const faults = async (f) => {
  const r = await json('POST', `${sim}/_sim/faults`, f);
  assert.equal(r.status, 200, `POST /_sim/faults: ${JSON.stringify(r.data)}`);
  return r.data;
};
const authed = { authorization: `Bearer ${TOKEN}` };

async function shot(page, name, fullPage = true) {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage, animations: 'disabled' });
  return file;
}

// ---------------------------------------------------------------- page helpers

const text = (page, sel) => page.locator(sel).first().textContent({ timeout: 2_000 }).then((t) => (t ?? '').trim());
const badge = (page) => text(page, '#status-badge');
const stat = (page, key) => text(page, `#stats [data-stat="${key}"] .value`);
const syncDisabled = (page) => page.locator('#sync-now').isDisabled();
const toastTexts = (page, kind) => page.locator(`#toasts .toast${kind ? `[data-kind="${kind}"]` : ''}:not([data-test-seen]) .toast-message`).allTextContents();

/** Waits for the page to show `expected` (string or RegExp) in `sel`. */
async function seeText(page, sel, expected, opts = {}) {
  return eventually(async () => {
    const t = await text(page, sel);
    const ok = expected instanceof RegExp ? expected.test(t) : t === expected;
    if (!ok) throw new Error(`${sel} shows ${JSON.stringify(t)}, want ${expected}`);
    return t;
  }, { what: `${sel} = ${expected}`, ...opts });
}

/** Marks the toasts on screen as seen: seeToast only looks at the ones that come after. */
const toastsSeen = (page) => page.evaluate(() => document.querySelectorAll('#toasts .toast').forEach((t) => { t.dataset.testSeen = '1'; }));

async function seeToast(page, kind, expected, opts = {}) {
  return eventually(async () => {
    const all = await toastTexts(page, kind);
    const hit = all.find((t) => (expected instanceof RegExp ? expected.test(t) : t === expected));
    if (!hit) {
      const every = await page.locator('#toasts .toast').evaluateAll((ts) => ts.map((t) => `${t.dataset.kind}: ${t.textContent.trim()}`));
      throw new Error(`new ${kind} toasts are ${JSON.stringify(all)}, want ${expected}; all toasts: ${JSON.stringify(every)}; `
        + `badge ${JSON.stringify(await badge(page))}, Sync Now ${(await syncDisabled(page)) ? 'disabled' : 'enabled'}`);
    }
    return hit;
  }, { what: `a ${kind} toast ${expected}`, ...opts });
}

/** Records every visible state change of the status card, so short-lived states (a sync of
 *  about a second) are asserted without racing the page. */
async function record(page) {
  await page.evaluate(() => {
    if (window.__rec) window.__rec.observer.disconnect();
    const log = [];
    const snap = () => {
      const q = (s) => document.querySelector(s);
      const entry = {
        badge: q('#status-badge').textContent.trim(),
        disabled: q('#sync-now').disabled,
        progressVisible: !q('#progress').hidden,
        stages: [...document.querySelectorAll('#progress li[data-stage]')].map((li) => ({
          stage: li.dataset.stage, status: li.dataset.status, count: li.querySelector('.count').textContent.trim(),
          value: li.querySelector('progress').value, max: li.querySelector('progress').max,
        })),
        toasts: [...document.querySelectorAll('#toasts .toast')].map((t) => `${t.dataset.kind}: ${t.querySelector('.toast-message').textContent}`),
      };
      const prev = log[log.length - 1];
      if (!prev || JSON.stringify(prev) !== JSON.stringify(entry)) log.push(entry);
    };
    const observer = new MutationObserver(snap);
    observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    snap();
    window.__rec = { log, observer };
  });
}
const recorded = (page) => page.evaluate(() => window.__rec.log);

const changeItems = (page) => page.locator('#changes-list > li.change').evaluateAll((items) => items.map((li) => ({
  name: li.querySelector('.change-name').textContent.trim(),
  desc: li.querySelector('.change-desc').textContent.trim(),
  date: li.querySelector('.change-date').textContent.trim(),
})));

const sessionRows = (page) => page.locator('#sessions > tr.session').evaluateAll((rows) => rows.map((tr) => ({
  id: tr.dataset.id, status: tr.dataset.status, cells: [...tr.cells].map((td) => td.textContent.trim()),
})));

async function noHorizontalScroll(page) {
  const m = await page.evaluate(() => ({
    doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, inner: window.innerWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(m.doc <= m.client && m.body <= m.client, `page is wider than the screen: ${JSON.stringify(m)}`);
}

/** Every request a page makes, with timings, written to target/browser-test-logs/ (for failures). */
function traceRequests(page, name) {
  const t0 = Date.now();
  const file = fs.createWriteStream(path.join(LOGS, `${name}-requests.log`));
  const line = (what, req, extra = '') => file.write(`${String(Date.now() - t0).padStart(7)} ms ${what} ${req.method()} ${req.url().replace(base, '')}${extra}\n`);
  page.on('request', (r) => line('->', r));
  page.on('response', (r) => line('<-', r.request(), ` ${r.status()}`));
  page.on('requestfinished', (r) => line('ok', r));
  page.on('requestfailed', (r) => line('!!', r, ` ${r.failure()?.errorText}`));
  page.on('console', (m) => file.write(`${String(Date.now() - t0).padStart(7)} ms console.${m.type()} ${m.text()}\n`));
  page.on('close', () => file.end());
}

async function newPage(viewport, name) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, locale: 'en-GB', timezoneId: 'Europe/Amsterdam' });
  const page = await context.newPage();
  traceRequests(page, name);
  page.on('pageerror', (e) => pageErrors.push(`${e.name}: ${e.message}`));
  // Failed requests are reported with their URL below; 401s are expected for a wrong token.
  page.on('console', (m) => { if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) pageErrors.push(`console: ${m.text()}`); });
  page.on('response', (r) => { if (r.status() >= 400 && r.status() !== 401) pageErrors.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`); });
  return page;
}

// ---------------------------------------------------------------- setup / teardown

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  fs.mkdirSync(LOGS, { recursive: true });
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'employes-sync-browser-'));

  let bin = process.env.EMPLOYES_SYNC_BIN;
  if (!bin) {
    execFileSync('cargo', ['build', '--quiet', '--bin', 'employes-sync'], {
      cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, SQLX_OFFLINE: 'true' },
    });
    bin = path.join(ROOT, 'target/debug/employes-sync');
  }

  const [natsPort, httpPort, simPort] = [await freePort(), await freePort(), await freePort()];
  const nats = startChild('nats-server', NATS_BIN, ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', path.join(tmpDir, 'nats')], process.env);
  await eventually(() => tcpOpen(natsPort), { timeout: 10_000, what: 'nats-server to listen' });

  dbName = `employes_sync_browser_${process.pid}_${randomBytes(3).toString('hex')}`;
  psql(`CREATE DATABASE ${dbName}`);

  base = `http://127.0.0.1:${httpPort}`;
  sim = `http://127.0.0.1:${simPort}`;
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME || tmpDir,
    RUST_LOG: process.env.RUST_LOG || 'info',
    RUST_BACKTRACE: '1',
    DATABASE_URL: databaseUrl(dbName),
    NATS_URL: `nats://127.0.0.1:${natsPort}`,
    NATS_SUBJECT_PREFIX: `brw${process.pid}${randomBytes(2).toString('hex')}`,
    HTTP_ADDR: `127.0.0.1:${httpPort}`,
    SIMULATOR_ADDR: `127.0.0.1:${simPort}`,
    EMPLOYES_RATE_LIMIT: '1000',
    // A request failing with 5xx is retried once (not 4 times with growing backoff): the
    // failing-sync scenario stays a few seconds instead of half a minute.
    EMPLOYES_MAX_ATTEMPTS: '2',
    API_TOKENS: `browser:${TOKEN}`,
    SYNC_SCHEDULE: 'off',
    LOG_FORMAT: 'json',
    WORKER_HEARTBEAT: '1s',
    // Every full sync reads every history, so later syncs have a history stage to slow down or
    // fail (the incremental default would skip it on an unchanged company).
    HISTORY_REFRESH_AFTER: '0s',
  };
  const service = startChild('employes-sync', bin, ['serve'], env);
  const died = Promise.race([service.exitedEarly, nats.exitedEarly]).then((why) => { throw new Error(`${why}; see ${LOGS}`); });
  died.catch(() => {});
  // The simulator listens as soon as the process is up: make it fast before any sync runs.
  await Promise.race([died, eventually(() => faults(FAST), { timeout: 30_000, what: 'the simulator control API' })]);
  await Promise.race([died, eventually(async () => (await fetch(`${base}/readyz`)).status === 200, { timeout: 30_000, what: '/readyz 200' })]);

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  desk = await newPage(DESKTOP, 'desktop');
});

after(async () => {
  await browser?.close().catch(() => {});
  for (const c of children.reverse()) await stopChild(c);
  if (dbName) {
    try { psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`); } catch (e) { console.error(`could not drop ${dbName}: ${e.stderr || e}`); }
  }
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- scenarios (run in order)

/** A test that, when it fails, saves what the service knew at that moment next to its log. */
function scenario(name, fn) {
  test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      await saveDiagnostics(name).catch((e) => console.error(`# could not save diagnostics: ${e}`));
      throw err;
    }
  });
}

async function saveDiagnostics(name) {
  const get = async (url, headers) => {
    try { return (await json('GET', url, undefined, headers)).data; } catch (e) { return String(e); }
  };
  const sessions = await get(`${base}/api/sync/sessions?limit=5`, authed);
  const details = [];
  for (const s of sessions?.sessions || []) {
    if (s.status === 'queued' || s.status === 'running') details.push(await get(`${base}/api/sync/sessions/${s.id}`, authed));
  }
  const metrics = String(await fetch(`${base}/metrics`).then((r) => r.text(), (e) => String(e)))
    .split('\n').filter((l) => l && !l.startsWith('#')).join('\n');
  let postgres;
  try {
    postgres = execFileSync('psql', [ADMIN_DB, '-X', '-A', '-F', ' | ', '-c',
      `SELECT pid, state, wait_event_type, wait_event, now() - query_start AS running_for, left(query, 300) AS query
       FROM pg_stat_activity WHERE datname = '${dbName}' ORDER BY query_start`], { encoding: 'utf8' }).split('\n');
  } catch (e) { postgres = String(e); }
  const dump = {
    test: name, at: new Date().toISOString(), readyz: await get(`${base}/readyz`), status: await get(`${base}/api/sync/status`, authed), postgres,
    sessions, active: details, simulator: { faults: await get(`${sim}/_sim/faults`), stats: await get(`${sim}/_sim/stats`) }, metrics,
  };
  const file = path.join(LOGS, `failure-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}.json`);
  fs.writeFileSync(file, JSON.stringify(dump, null, 2));
  console.error(`# diagnostics saved to ${path.relative(ROOT, file)}`);
}

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
  await seeText(desk, '#employees-synced', '110');
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

  const file = await shot(desk, '03-after-first-sync');
  if (process.env.UPDATE_README_SCREENSHOT) { // the README's picture; opt-in so a test run leaves the tree clean
    fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
    fs.copyFileSync(file, path.join(ROOT, 'docs/dashboard.png'));
  }

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
    assert.equal(await text(desk, '#employees-synced'), '110', 'still what the last finished sync stored');
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
    assert.match(details[0], /^History: .*503/, details[0]);
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

test('no script errors on any page', () => {
  assert.deepEqual(pageErrors, []);
});
