// Real-browser tests of several companies in the dashboard (issue 21, items 1 and 9): the company
// switcher (remembered per browser), the "All companies" overview, and the admin's Companies
// page (edit, remove with confirmation, add with a connection check) and Endpoints page (add,
// attempts, replay). One service with two simulated companies, signed in as an admin token.
//
// Run: ./scripts/browser-test.sh, or with a built binary:
// EMPLOYES_SYNC_BIN=target/debug/employes-sync node --test tests/browser/companies.test.mjs

import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import {
  TOKEN,
  authed,
  base,
  desk,
  eventually,
  json,
  noScriptErrors,
  pageErrors,
  scenario,
  seeText,
  seeToast,
  shot,
  sim,
  toastsSeen,
  useService,
} from './harness.mjs';
import { readmeShot } from './flows.mjs';

useService({
  SIMULATOR_COMPANIES: '2',
  SECRETS_KEY: randomBytes(32).toString('base64'),
  API_TOKENS: `browser:${TOKEN}:admin`,
  ENDPOINT_ALLOW_PRIVATE_NETWORKS: 'true',
  ENDPOINT_RETRY_SCHEDULE: '1s',
  WATCH_INTERVAL: 'off',
});

const api = async (method, path, body) => {
  const r = await json(method, `${base}${path}`, body, authed);
  return r;
};
const get = async (path) => {
  const r = await api('GET', path);
  assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.data)}`);
  return r.data;
};

let first;
let second;
const options = () => desk.locator('#company-select option').evaluateAll((os) => os.map((o) => ({ value: o.value, text: o.textContent })));
const switcherValue = () => desk.locator('#company-select').inputValue();

scenario('with two companies a switcher picks the company, each has its own status, and the choice is remembered', async () => {
  [first, second] = (await get('/api/companies')).companies;
  await desk.goto(`${base}/employes-sync#token=${TOKEN}`);
  await desk.locator('#company-switcher').waitFor({ state: 'visible', timeout: 10_000 });
  assert.deepEqual(await options(), [
    { value: 'all', text: 'All companies' }, { value: first.id, text: first.name }, { value: second.id, text: second.name },
  ]);
  assert.equal(await switcherValue(), first.id, 'the first company by default');
  await seeText(desk, '#status-badge', 'Never synced');
  await toastsSeen(desk);
  await desk.click('#sync-now');
  await seeToast(desk, 'success', new RegExp(`^Sync completed \\(${first.name}\\) — \\d+ employees, 3 changes$`), { timeout: 60_000 });
  await seeText(desk, '#status-badge', 'All data current');
  assert.ok(await desk.locator('#demo-banner').isVisible(), 'simulated companies: the demo banner');
  await eventually(async () => (await desk.locator('#changes-list > li').count()) === 3, { what: 'the first company\'s changes' });
  await readmeShot(desk, 'dashboard', { fullPage: true });

  // The second company: never synced, its own employees.
  await desk.selectOption('#company-select', second.id);
  await seeText(desk, '#status-badge', 'Never synced');
  const stats = await get(`/api/stats?company_id=${second.id}`);
  await seeText(desk, '#employees-count', String(stats.employees));
  await eventually(async () => (await desk.locator('#changes-list > li').count()) === 0, { what: 'no changes of the second company yet' });
  await shot(desk, 'companies-01-second-company');

  // Remembered in this browser.
  await desk.reload();
  await seeText(desk, '#status-badge', 'Never synced');
  assert.equal(await switcherValue(), second.id, 'still the second company after a reload');
  await toastsSeen(desk);
  await desk.click('#sync-now');
  await seeToast(desk, 'success', new RegExp(`^Sync completed \\(${second.name}\\)`), { timeout: 60_000 });
  await eventually(async () => (await desk.locator('#changes-list > li').count()) === 3, { what: 'the second company\'s changes' });
});

scenario('"All companies" shows each company\'s status, last success, open issues and upcoming milestones', async () => {
  await desk.selectOption('#company-select', 'all');
  await desk.locator('#overview-page').waitFor({ state: 'visible', timeout: 5_000 });
  assert.equal(new URL(desk.url()).hash, '#/overview');
  const rows = desk.locator('#overview-rows > tr');
  await eventually(async () => (await rows.count()) === 2 && (await rows.locator('.badge').count()) === 2, { what: 'two rows with their status' });
  const milestones = (await get('/api/milestones?within=90d&limit=500')).milestones.filter((m) => m.status !== 'resolved');
  for (const c of [first, second]) {
    const row = desk.locator(`#overview-rows > tr[data-company="${c.id}"]`);
    const cells = await row.locator('td').allTextContents();
    const want = milestones.filter((m) => m.company_id === c.id).length;
    const { employees } = await get(`/api/stats?company_id=${c.id}`);
    assert.deepEqual(cells.map((t) => t.trim()), [c.name, 'All data current', cells[2].trim(), '0', String(want), String(employees)]);
    assert.match(cells[2], /^(just now|1 minute ago)$/);
  }
  await shot(desk, 'companies-02-overview');
  await readmeShot(desk, 'overview');
  // A company's name opens its dashboard.
  await desk.click(`#overview-rows > tr[data-company="${first.id}"] a`);
  await desk.locator('#dashboard').waitFor({ state: 'visible', timeout: 5_000 });
  await eventually(async () => (await switcherValue()) === first.id, { what: 'the switcher on the first company' });
  await seeText(desk, '#status-badge', 'All data current');
});

scenario('an admin edits a company\'s schedule, watch and rate limit on the Companies page', async () => {
  await desk.click('#nav a[data-page="companies"]');
  await desk.locator('#companies-page').waitFor({ state: 'visible', timeout: 5_000 });
  const row = desk.locator(`#companies-rows > tr[data-company="${second.id}"]`);
  await row.waitFor({ state: 'visible', timeout: 5_000 });
  await row.getByRole('button', { name: `Edit ${second.name}` }).click();
  await desk.fill('#edit-schedule', '0 0 3 * * *');
  await desk.fill('#edit-watch_interval', 'off');
  await desk.fill('#edit-rate_limit', '7');
  await desk.click('#company-edit button[type="submit"]');
  await seeText(desk, '#company-edit-result', 'Saved: schedule, watch interval, rate limit.');
  const saved = await get(`/api/companies/${second.id}`);
  assert.deepEqual([saved.schedule, saved.watch_interval, saved.rate_limit], ['0 0 3 * * *', 'off', 7]);
  await eventually(async () => {
    const cells = (await row.locator('td').allTextContents()).map((t) => t.trim());
    return cells[2] === '0 0 3 * * *' && cells[3] === 'off' && cells[4] === '7/s';
  }, { what: 'the table to show the new settings' });
  await shot(desk, 'companies-03-edited');

  // A wrong value is refused with the service's reason, nothing saved.
  await desk.fill('#edit-schedule', 'every tuesday');
  await desk.click('#company-edit button[type="submit"]');
  await seeText(desk, '#company-edit-result', /^Not saved: .*schedule/);
  assert.equal((await get(`/api/companies/${second.id}`)).schedule, '0 0 3 * * *');
  // That 400 was the point: not a page error.
  const expected = pageErrors.findIndex((e) => e === `HTTP 400 PATCH ${base}/api/companies/${second.id}`);
  assert.ok(expected >= 0, JSON.stringify(pageErrors));
  pageErrors.splice(expected, 1);
  await desk.getByRole('button', { name: 'Cancel' }).click();
});

scenario('removing a company asks for confirmation first; adding one checks the connection at once', async () => {
  const row = desk.locator(`#companies-rows > tr[data-company="${second.id}"]`);
  await row.getByRole('button', { name: `Remove ${second.name}` }).click();
  const dialog = desk.locator('#confirm-dialog');
  await dialog.waitFor({ state: 'visible', timeout: 5_000 });
  assert.match(await dialog.locator('#confirm-text').textContent(), new RegExp(`^This deletes ${second.name} and everything stored about it`));
  await shot(desk, 'companies-04-remove-confirmation');
  await desk.click('#confirm-cancel');
  await dialog.waitFor({ state: 'hidden', timeout: 5_000 });
  assert.equal((await api('GET', `/api/companies/${second.id}`)).status, 200, 'cancel keeps it');

  await row.getByRole('button', { name: `Remove ${second.name}` }).click();
  await desk.click('#confirm-ok');
  await seeToast(desk, 'success', `${second.name} removed`);
  await row.waitFor({ state: 'detached', timeout: 5_000 });
  assert.equal((await api('GET', `/api/companies/${second.id}`)).status, 404, 'gone from the service');
  await desk.locator('#company-switcher').waitFor({ state: 'hidden', timeout: 5_000 });

  // Added again, with its key: the connection is checked with it.
  await desk.fill('#add-id', second.id);
  await desk.fill('#add-name', 'Second, again');
  await desk.fill('#add-key', `sim-key-${randomBytes(8).toString('hex')}`);
  await desk.fill('#add-watch', 'off');
  await desk.click('#company-add button[type="submit"]');
  const simCompanies = (await (await fetch(`${sim}/_sim/companies`)).json()).companies;
  const size = simCompanies.find((c) => c.id === second.id).employees;
  await seeText(desk, '#company-add-result', `Connection works: Employes lists ${size} employees for Second, again.`, { timeout: 15_000 });
  await desk.locator('#company-switcher').waitFor({ state: 'visible', timeout: 5_000 });
  assert.ok((await options()).some((o) => o.text === 'Second, again'), 'in the switcher again');
  await shot(desk, 'companies-05-added-and-checked');

  // A company Employes does not know: added, and the check says why it cannot work.
  const unknown = randomUUID();
  await desk.fill('#add-id', unknown);
  await desk.fill('#add-key', 'sim-key-unknown-company');
  await desk.fill('#add-watch', 'off');
  await desk.click('#company-add button[type="submit"]');
  await seeText(desk, '#company-add-result', new RegExp(`^Connection failed for Company ${unknown.slice(0, 8)}: .+`), { timeout: 15_000 });
  await shot(desk, 'companies-06-check-failed');
  // Cleaned up through the page.
  const bad = desk.locator(`#companies-rows > tr[data-company="${unknown}"]`);
  await bad.getByRole('button', { name: /^Remove / }).click();
  await desk.click('#confirm-ok');
  await bad.waitFor({ state: 'detached', timeout: 5_000 });
});

scenario('an admin adds an endpoint, sees its delivery attempts and replays its events', async () => {
  const received = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { received.push({ id: req.headers['webhook-id'], body }); res.writeHead(200).end('ok'); });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${receiver.address().port}/hook`;
  try {
    await desk.click('#nav a[data-page="endpoints"]');
    await desk.locator('#endpoints-page').waitFor({ state: 'visible', timeout: 5_000 });
    await desk.locator('#endpoints-empty').waitFor({ state: 'visible', timeout: 5_000 });
    await desk.fill('#ep-url', url);
    await desk.selectOption('#ep-company', first.id);
    await desk.fill('#ep-types', 'salary_change');
    await desk.fill('#ep-description', 'Payroll system');
    await desk.click('#endpoint-add button[type="submit"]');
    await seeText(desk, '#endpoint-secret', /^whsec_/);
    const item = desk.locator('#endpoint-list > li.endpoint');
    await eventually(async () => (await item.count()) === 1, { what: 'the endpoint listed' });
    assert.match(await item.locator('.hint').textContent(), new RegExp(`^${first.name} · salary_change · Payroll system$`));
    await shot(desk, 'companies-07-endpoint-added');

    // A salary change of the first company is delivered.
    const { employees } = await (await fetch(`${sim}/_sim/employees?company_id=${first.id}`)).json();
    const mutated = await json('POST', `${sim}/_sim/mutations`, {
      company_id: first.id, kind: 'salary', employee_id: employees[0].id, month_wage: 4321, start_date: '2026-11-01',
    });
    assert.equal(mutated.status, 200, JSON.stringify(mutated.data));
    const synced = await json('POST', `${base}/api/sync`, { company_id: first.id }, authed);
    assert.equal(synced.status, 202, JSON.stringify(synced.data));
    await eventually(() => received.length >= 1, { timeout: 60_000, what: 'the delivery' });

    await item.getByRole('button', { name: `Attempts of ${url}` }).click();
    const attempts = desk.locator('#attempt-rows > tr');
    await eventually(async () => {
      if ((await attempts.count()) === 0) await item.getByRole('button', { name: `Attempts of ${url}` }).click();
      return (await attempts.count()) >= 1;
    }, { what: 'an attempt listed' });
    const cells = (await attempts.first().locator('td').allTextContents()).map((t) => t.trim());
    assert.deepEqual(cells.slice(1, 5), ['salary_change', '1', 'Succeeded', 'HTTP 200']);

    // Replay everything of the last hour: the same event again, with the same webhook-id.
    // An hour ago as the browser's local time (datetime-local has no zone).
    const local = await desk.evaluate(() => {
      const d = new Date(Date.now() - 3_600_000);
      return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    });
    await desk.fill('#replay-since', local);
    await desk.click('#replay-form button[type="submit"]');
    await seeText(desk, '#replay-result', /^[1-9]\d* events? queued for delivery again\.$/);
    const firstId = received[0].id;
    await eventually(() => received.filter((r) => r.id === firstId).length >= 2, { timeout: 30_000, what: 'the replayed delivery' });
    await shot(desk, 'companies-08-endpoint-attempts-replay');
  } finally {
    receiver.close();
  }
});

noScriptErrors();
