// The Changes page (#/changes) and how changes read everywhere (issue 21, item 4 and the bugs
// "Effective —" on terminations, "(city)" on personal data, baseline as "detected just now"):
// filters by type, employee (picked by name) and detection date, cursor paging, Export CSV of
// the filtered list, and the baseline's past transitions labelled as found by the first sync.

import assert from 'node:assert/strict';
import {
  TOKEN, base, changeItems, desk, eventually, networkQuiet, noScriptErrors, scenario, seeText, shot, useService,
} from './harness.mjs';
import {
  allPages, apiGet, download, mutate, openRoute, parseCsv, readmeShot, simEmployees, syncAndWait, todayInAmsterdam,
} from './flows.mjs';

useService();

const pageItems = (page) => page.locator('#changes-page-list > li.change').evaluateAll((items) => items.map((li) => ({
  name: li.querySelector('.change-name').textContent.trim(),
  desc: li.querySelector('.change-desc').textContent.trim(),
  date: li.querySelector('.change-date').textContent.trim(),
  detected: li.querySelector('.change-detected').textContent.trim(),
  type: li.dataset.changeType,
  baseline: li.dataset.baseline,
})));

let people; // the three employees changed after the baseline: { moved, left, raised }

scenario('the first sync\'s past transitions read "found in history at first sync", not "detected just now"', async () => {
  await syncAndWait();
  await desk.goto(`${base}/employes-sync#token=${TOKEN}`);
  const items = await eventually(async () => {
    const c = await desk.locator('#changes-list > li.change').evaluateAll((lis) => lis.map((li) => li.textContent));
    return c.length === 3 ? c : null;
  }, { what: 'the 3 baseline changes' });
  for (const text of items) {
    assert.match(text, /found in history at first sync/, text);
    assert.doesNotMatch(text, /detected just now/, text);
  }
  await shot(desk, 'changes-01-baseline-labelled');
});

scenario('a termination shows its last day and a personal-data change says what kind of detail changed', async () => {
  const employees = await simEmployees();
  const [moved, left, raised] = [employees[5], employees[6], employees[7]];
  people = { moved, left, raised };
  await mutate({ kind: 'personal', employee_id: moved.id, field: 'city', value: 'Utrecht' });
  await mutate({ kind: 'terminate', employee_id: left.id });
  await mutate({ kind: 'salary', employee_id: raised.id, month_wage: 4321, start_date: todayInAmsterdam() });
  const session = await syncAndWait();
  assert.equal(session.status, 'completed', JSON.stringify(session));

  await desk.reload();
  const byDesc = await eventually(async () => {
    const c = await changeItems(desk);
    return c.length > 3 ? c : null;
  }, { what: 'the new changes on the dashboard' });
  const personal = byDesc.find((c) => c.desc.startsWith('Address changed'));
  assert.ok(personal, JSON.stringify(byDesc));
  assert.equal(personal.desc, 'Address changed: city');
  assert.equal(personal.date, '', 'no "Effective —" for a change Employes gives no date for');
  const termination = byDesc.find((c) => /^Left the company/.test(c.desc));
  assert.ok(termination, JSON.stringify(byDesc));
  assert.match(termination.date, /^Last day \d{1,2} [A-Z][a-z]{2} \d{4}$/, termination.date);
  for (const c of byDesc) assert.doesNotMatch(c.date, /—/, `no change shows a dash for a date: ${JSON.stringify(c)}`);
  const fresh = await desk.locator('#changes-list > li.change[data-baseline="false"] .change-detected').allTextContents();
  assert.ok(fresh.length >= 3 && fresh.every((t) => /^detected (just now|1 minute ago)$/.test(t.trim())), JSON.stringify(fresh));
  const api = await apiGet(`/api/changes?employee_id=${left.id}`);
  const status = api.changes.find((c) => c.change_type === 'status_change');
  assert.equal(status.business_impact, 'terminated');
  assert.match(status.effective_date, /^\d{4}-\d{2}-\d{2}$/, 'the API gives the termination its end date');
  assert.equal(status.baseline, false);
  await shot(desk, 'changes-02-termination-and-personal');
});

scenario('the Changes page lists every change and filters by type, employee and date; Export CSV has the filtered list', async () => {
  const every = await allPages('/api/changes', 'changes');
  await openRoute(desk, '/changes', '#changes-page');
  await eventually(async () => (await pageItems(desk)).length === every.length, { what: `all ${every.length} changes listed` });
  assert.ok(await desk.locator('#changes-page-more').isHidden(), 'no "Show more" when every change is shown');
  await seeText(desk, '#changes-summary', `${every.length} changes.`);
  const shown = await pageItems(desk);
  assert.equal(shown.filter((c) => c.baseline === 'true').length, every.filter((c) => c.baseline).length);
  await shot(desk, 'changes-03-page');
  await readmeShot(desk, 'changes');

  // By type.
  await desk.selectOption('#filter-type', 'salary_change');
  const salaries = every.filter((c) => c.change_type === 'salary_change');
  await eventually(async () => {
    const items = await pageItems(desk);
    return items.length === salaries.length && items.every((c) => c.type === 'salary_change');
  }, { what: 'only the salary changes' });
  await seeText(desk, '#changes-summary', /salary changes\.$/);

  // Export CSV of that filter: the same changes, with the baseline column.
  const csv = await download(desk, '#changes-export');
  assert.equal(csv.name, 'changes.csv');
  const rows = parseCsv(csv.text);
  assert.deepEqual(rows.map((r) => r.id).sort(), salaries.map((c) => c.id).sort());
  assert.ok(rows.every((r) => r.change_type === 'salary_change'));
  assert.deepEqual(rows.map((r) => r.baseline).sort(), salaries.map((c) => String(c.baseline)).sort());
  await shot(desk, 'changes-04-filtered-by-type');
  await desk.selectOption('#filter-type', '');

  // By employee: part of the name, then the suggestion, with the keyboard only.
  const { raised } = people;
  const name = `${raised.first_name} ${raised.surname}`;
  await desk.locator('#filter-employee').focus();
  await desk.keyboard.type(raised.surname.slice(0, 5));
  const option = desk.locator('#filter-employee-options .picker-option', { hasText: raised.surname });
  await option.first().waitFor({ state: 'visible', timeout: 10_000 });
  const options = await desk.locator('#filter-employee-options .picker-option').allTextContents();
  const at = options.findIndex((o) => o.includes(raised.surname) && o.includes(raised.first_name));
  assert.ok(at >= 0, `the suggestions list them: ${JSON.stringify(options)}`);
  for (let i = 0; i <= at; i += 1) await desk.keyboard.press('ArrowDown');
  await desk.keyboard.press('Enter');
  const theirs = every.filter((c) => c.employee_id === raised.id);
  await eventually(async () => {
    const items = await pageItems(desk);
    return items.length === theirs.length && items.every((c) => c.name.includes(raised.surname));
  }, { what: `only the changes of ${name}` });
  assert.ok(await desk.locator('#filter-employee-options').isHidden(), 'the suggestions close once one is picked');
  await shot(desk, 'changes-05-filtered-by-employee');

  // By date: nothing was detected before today; everything today.
  await desk.click('#changes-filter button[type="reset"]');
  await eventually(async () => (await pageItems(desk)).length === every.length, { what: 'every change after "Clear filters"' });
  await desk.fill('#filter-to', todayInAmsterdam(-1));
  await desk.locator('#changes-page-empty').waitFor({ state: 'visible', timeout: 10_000 });
  assert.equal((await pageItems(desk)).length, 0);
  await shot(desk, 'changes-06-no-match');
  await desk.fill('#filter-to', '');
  await desk.fill('#filter-from', todayInAmsterdam());
  await eventually(async () => (await pageItems(desk)).length === every.length, { what: 'every change detected from today' });
  await desk.fill('#filter-from', '');
});

scenario('the Changes page pages through the cursor API: 50 at a time, "Show more" loads the next page', async () => {
  // More changes than a page: personal-data changes of 60 employees, one sync.
  const employees = await simEmployees();
  for (const e of employees.slice(20, 80)) await mutate({ kind: 'personal', employee_id: e.id, field: 'email', value: `new-${e.id.slice(0, 8)}@example.nl` });
  await syncAndWait();
  const every = await allPages('/api/changes', 'changes');
  assert.ok(every.length > 60, `${every.length} changes`);
  // The overview's "Recent changes" (limit=10) refreshes as the sync's live events arrive; let it
  // settle, and count only the Changes page's own requests below.
  await networkQuiet(desk);
  const requests = [];
  desk.on('request', (r) => { if (r.url().includes('/api/changes?')) requests.push(r.url()); });
  await desk.evaluate(() => { location.hash = '#/'; });
  await openRoute(desk, '/changes', '#changes-page');
  await eventually(async () => (await pageItems(desk)).length === 50, { what: 'the first 50' });
  await seeText(desk, '#changes-summary', 'The newest 50 changes; more below.');
  assert.equal(await desk.locator('#changes-page-more').isVisible(), true);
  await desk.locator('#changes-page-more').click();
  await eventually(async () => (await pageItems(desk)).length === every.length, { what: 'the rest after "Show more"' });
  const ids = await desk.locator('#changes-page-list > li.change').count();
  assert.equal(ids, every.length, 'no change twice');
  assert.ok(await desk.locator('#changes-page-more').isHidden());
  const pages = requests.filter((u) => !u.includes('format=csv') && new URL(u).searchParams.get('limit') !== '10');
  assert.ok(pages.some((u) => u.includes('cursor=')), `a cursor was followed: ${pages.join(' ')}`);
  assert.ok(pages.every((u) => u.includes('limit=50')), pages.join(' '));
  assert.equal(await desk.locator('#changes-page-list li[data-change-type="personal_data_change"] .change-desc', { hasText: 'Contact details changed: e-mail address' }).count() >= 60, true);
  await shot(desk, 'changes-07-all-pages');
});

noScriptErrors();
