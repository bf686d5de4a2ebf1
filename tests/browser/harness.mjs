// The harness of the dashboard's real-browser tests (tests/browser/*.test.mjs): each test file
// calls `useService()` once, which starts its own throwaway nats-server (JetStream), a fresh
// Postgres database and the real `employes-sync serve` binary with its in-process Employes
// simulator, and headless system Chromium; then drives pages with the helpers below.
// Screenshots go to target/browser-screenshots/, logs to target/browser-test-logs/.
//
// Environment: TEST_DATABASE_URL (a Postgres we may create databases on; default
// postgres://postgres@127.0.0.1:5432/postgres), NATS_SERVER_BIN (default /usr/sbin/nats-server),
// EMPLOYES_SYNC_BIN (skip the cargo build and use this binary), CHROMIUM (default /usr/bin/chromium),
// TEST_LOG=1 (echo the service's log), DASHBOARD_DIR (development: the page's files from this directory
// instead of the binary's embedded copies, so editing assets/dashboard/ needs no rebuild).

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

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHOTS = path.join(ROOT, 'target/browser-screenshots');
export const LOGS = path.join(ROOT, 'target/browser-test-logs');
export const ADMIN_DB = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
export const NATS_BIN = process.env.NATS_SERVER_BIN || '/usr/sbin/nats-server';
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];
export const TOKEN = `brw-${randomBytes(18).toString('hex')}`; // 40 chars
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 412, height: 900 };
export const FAST = { rate_limit: 1000, latency_ms: 40 };
export const NO_FAULTS = { error_rate: 0, reject_auth: false, endpoints: null, ...FAST };

// ---------------------------------------------------------------- harness

export const children = [];
export let tmpDir;
export let dbName;
export let base; // http://127.0.0.1:<port>
export let sim; // http://127.0.0.1:<port>
export let browser;
export let desk; // the desktop page, signed in, used by the scenarios in order
export const pageErrors = [];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
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
export async function eventually(fn, { timeout = 15_000, interval = 100, what = 'condition' } = {}) {
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

export function tcpOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export function startChild(name, cmd, args, env) {
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

export async function stopChild(child) {
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

export function psql(sql) {
  execFileSync('psql', [ADMIN_DB, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function databaseUrl(name) {
  const m = /^(postgres(?:ql)?:\/\/[^/?#]+)(?:\/[^?#]*)?(\?[^#]*)?$/.exec(ADMIN_DB);
  assert.ok(m, `TEST_DATABASE_URL not understood: ${ADMIN_DB}`);
  return `${m[1]}/${name}${m[2] || ''}`;
}

export async function json(method, url, body, headers = {}) {
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

export const faults = async (f) => {
  const r = await json('POST', `${sim}/_sim/faults`, f);
  assert.equal(r.status, 200, `POST /_sim/faults: ${JSON.stringify(r.data)}`);
  return r.data;
};
export const authed = { authorization: `Bearer ${TOKEN}` };

export async function shot(page, name, fullPage = true) {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage, animations: 'disabled' });
  return file;
}

// ---------------------------------------------------------------- page helpers

export const text = (page, sel) => page.locator(sel).first().textContent({ timeout: 2_000 }).then((t) => (t ?? '').trim());
export const badge = (page) => text(page, '#status-badge');
export const stat = (page, key) => text(page, `#stats [data-stat="${key}"] .value`);
export const syncDisabled = (page) => page.locator('#sync-now').isDisabled();
export const toastTexts = (page, kind) => page.locator(`#toasts .toast${kind ? `[data-kind="${kind}"]` : ''}:not([data-test-seen]) .toast-message`).allTextContents();

/** Waits for the page to show `expected` (string or RegExp) in `sel`. */
export async function seeText(page, sel, expected, opts = {}) {
  return eventually(async () => {
    const t = await text(page, sel);
    const ok = expected instanceof RegExp ? expected.test(t) : t === expected;
    if (!ok) throw new Error(`${sel} shows ${JSON.stringify(t)}, want ${expected}`);
    return t;
  }, { what: `${sel} = ${expected}`, ...opts });
}

/** Marks the toasts on screen as seen: seeToast only looks at the ones that come after. */
export const toastsSeen = (page) => page.evaluate(() => document.querySelectorAll('#toasts .toast').forEach((t) => { t.dataset.testSeen = '1'; }));

export async function seeToast(page, kind, expected, opts = {}) {
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
export async function record(page) {
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
        runs: [...document.querySelectorAll('#progress-runs > li.run')].map((r) => ({
          session: r.dataset.session, ended: r.dataset.ended === 'true', status: r.dataset.status,
          title: r.querySelector('.run-title').textContent.trim(), result: r.querySelector('.run-result').textContent.trim(),
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
export const recorded = (page) => page.evaluate(() => window.__rec.log);

export const changeItems = (page) => page.locator('#changes-list > li.change').evaluateAll((items) => items.map((li) => ({
  name: li.querySelector('.change-name').textContent.trim(),
  desc: li.querySelector('.change-desc').textContent.trim(),
  date: li.querySelector('.change-date').textContent.trim(),
})));

export const sessionRows = (page) => page.locator('#sessions > tr.session').evaluateAll((rows) => rows.map((tr) => ({
  id: tr.dataset.id, status: tr.dataset.status, cells: [...tr.cells].map((td) => td.textContent.trim()),
})));

export async function noHorizontalScroll(page) {
  const m = await page.evaluate(() => ({
    doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, inner: window.innerWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(m.doc <= m.client && m.body <= m.client, `page is wider than the screen: ${JSON.stringify(m)}`);
}

/** Every request a page makes, with timings, written to target/browser-test-logs/ (for failures). */
export function traceRequests(page, name) {
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

/** Event streams stay open for as long as the page shows them: never counted as loading. */
const isStream = (url) => /\/api\/sync\/activity|\/events(\?|$)/.test(new URL(url).pathname + new URL(url).search);

function trackInflight(page) {
  page.inflight = new Set();
  page.on('request', (r) => { if (!isStream(r.url())) page.inflight.add(r); });
  page.on('requestfinished', (r) => page.inflight.delete(r));
  page.on('requestfailed', (r) => page.inflight.delete(r));
}

/** Waits until the page has had no request in flight for `quietMs` — like Playwright's
 *  'networkidle', which never comes while the page follows its live event streams. */
export async function networkQuiet(page, { quietMs = 500, timeout = 30_000 } = {}) {
  const deadline = Date.now() + timeout;
  let since = Date.now();
  for (;;) {
    if (page.inflight.size) since = Date.now();
    else if (Date.now() - since >= quietMs) return;
    if (Date.now() > deadline) {
      throw new Error(`requests still in flight after ${timeout} ms: ${[...page.inflight].map((r) => r.url()).join(', ')}`);
    }
    await sleep(50);
  }
}

export async function newPage(viewport, name) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, locale: 'en-GB', timezoneId: 'Europe/Amsterdam' });
  if (process.env.DASHBOARD_DIR) {
    // Development: the page's files from disk instead of the binary's copies (no rebuild per edit).
    await context.route(/\/employes-sync(\/[\w.-]*)?$/, (route) => {
      const file = path.basename(new URL(route.request().url()).pathname).replace(/^(employes-sync)?$/, 'index.html');
      const type = file.endsWith('.css') ? 'text/css' : file.endsWith('.html') ? 'text/html' : 'text/javascript';
      route.fulfill({ status: 200, contentType: type, body: fs.readFileSync(path.join(process.env.DASHBOARD_DIR, file)) });
    });
  }
  const page = await context.newPage();
  traceRequests(page, name);
  trackInflight(page);
  page.on('pageerror', (e) => pageErrors.push(`${e.name}: ${e.message}`));
  // Failed requests are reported with their URL below; 401s are expected for a wrong token.
  page.on('console', (m) => { if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) pageErrors.push(`console: ${m.text()}`); });
  page.on('response', (r) => { if (r.status() >= 400 && r.status() !== 401) pageErrors.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`); });
  return page;
}

// ---------------------------------------------------------------- setup / teardown

/** Starts nats-server, a fresh database, the service (its env overridden by `extraEnv`) and
 *  Chromium before this file's tests, and stops them after. */
export function useService(extraEnv = {}) {
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
    ...extraEnv,
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
}


// ---------------------------------------------------------------- scenarios

/** A test that, when it fails, saves what the service knew at that moment next to its log. */
export function scenario(name, fn) {
  test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      await saveDiagnostics(name).catch((e) => console.error(`# could not save diagnostics: ${e}`));
      throw err;
    }
  });
}

export async function saveDiagnostics(name) {
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


/** The last test of a file: no page showed a script error or an unexpected HTTP error. */
export function noScriptErrors() {
  test('no script errors on any page', () => {
    assert.deepEqual(pageErrors, []);
  });
}
