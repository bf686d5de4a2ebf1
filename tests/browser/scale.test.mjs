// Scale (issue 21, "Done when"): with 10,000 employees and 100,000 changes in the database
// (filled with generate_series, no sync needed), the list pages show their first rows after
// one page request each, never load everything, and page on by cursor. The test measures the
// requests made and the time to first rows, and prints both (`# scale: …`).

import assert from 'node:assert/strict';
import {
  DESKTOP, TOKEN, base, databaseUrl, dbName, eventually, newPage, noScriptErrors, scenario, shot, useService, networkQuiet,
} from './harness.mjs';
import { execFileSync } from 'node:child_process';
import { apiGet } from './flows.mjs';

useService();

const EMPLOYEES = 10_000;
const CHANGES = 100_000;

function sql(text) {
  execFileSync('psql', [databaseUrl(dbName), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', text], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Requests a page makes to `/api/<list>` from now on. */
function countRequests(page, list) {
  const seen = [];
  page.on('request', (r) => { const u = new URL(r.url()); if (u.pathname === `/api/${list}`) seen.push(u.search); });
  return seen;
}

scenario(`a company of ${EMPLOYEES.toLocaleString('en')} employees and ${CHANGES.toLocaleString('en')} changes: first rows after one request per list`, async () => {
  const company = (await apiGet('/api/companies')).companies[0].id;
  const filled = Date.now();
  sql(`INSERT INTO employees (id, company_id, display_name, status, snapshot_hash, snapshot_version, first_seen_session, has_history)
       SELECT gen_random_uuid(), '${company}', 'Scale ' || lpad(i::text, 5, '0') || ' Tester', 'active', '\\x00', 1, gen_random_uuid(), false
       FROM generate_series(1, ${EMPLOYEES}) i`);
  sql(`INSERT INTO employee_versions (employee_id, version, content_hash, data, session_id, company_id, minimised)
       SELECT e.id, 1, '\\x00', jsonb_build_object('id', e.id, 'status', 'active', 'employee_number', 100000 + row_number() OVER (ORDER BY e.id),
                                                  'employment', jsonb_build_object('start_date', '2024-01-01')),
              e.first_seen_session, e.company_id, true
       FROM employees e WHERE e.company_id = '${company}'`);
  sql(`WITH e AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM employees WHERE company_id = '${company}')
       INSERT INTO changes (id, dedup_key, employee_id, change_type, field, old_value, new_value, effective_date, detected_at,
                            session_id, business_impact, change_amount, change_percent, published_at, company_id, baseline, sequence)
       SELECT gen_random_uuid(), 'scale-' || i, e.id, 'salary_change', 'month_wage', '3000', (3000 + i % 500)::text,
              date '2026-01-01' + (i % 300), now() - make_interval(secs => i), gen_random_uuid(), 'salary_increase',
              i % 500, round((i % 500) / 30.0, 2), now(), '${company}', false, i
       FROM generate_series(1, ${CHANGES}) i JOIN e ON e.n = i % ${EMPLOYEES}`);
  sql('ANALYZE employees; ANALYZE changes');
  console.log(`# scale: filled ${EMPLOYEES} employees and ${CHANGES} changes in ${Date.now() - filled} ms`);

  const page = await newPage(DESKTOP, 'scale');
  try {
    // The dashboard: recent changes and the employee search, one request each.
    const changeRequests = countRequests(page, 'changes');
    const employeeRequests = countRequests(page, 'employees');
    let t0 = Date.now();
    await page.goto(`${base}/employes-sync#token=${TOKEN}`);
    await page.locator('#changes-list > li.change').first().waitFor({ timeout: 30_000 });
    const dashChanges = Date.now() - t0;
    await page.locator('#employee-results > li').first().waitFor({ timeout: 30_000 });
    const dashEmployees = Date.now() - t0;
    await networkQuiet(page);
    assert.equal(await page.locator('#employee-results > li').count(), 10);
    assert.equal(await page.locator('#stats [data-stat="employees"] .value').textContent(), '10,000');

    // The Changes page: its first 50 from one request.
    const before = changeRequests.length;
    t0 = Date.now();
    await page.evaluate(() => { location.hash = '#/changes'; });
    await page.locator('#changes-page-list > li.change').first().waitFor({ timeout: 30_000 });
    const firstRows = Date.now() - t0;
    await networkQuiet(page);
    const pageRequests = changeRequests.slice(before);
    assert.equal(await page.locator('#changes-page-list > li.change').count(), 50, 'one page of 50 shown');
    assert.equal(pageRequests.length, 1, `one request for the first page: ${pageRequests}`);
    await shot(page, 'scale-01-changes-page', false);

    // Scrolling to the end of the list loads exactly the next page (by cursor), nothing more.
    t0 = Date.now();
    await page.locator('#changes-page-more').scrollIntoViewIfNeeded();
    await eventually(async () => (await page.locator('#changes-page-list > li.change').count()) === 100, { what: '100 after scrolling' });
    const nextPage = Date.now() - t0;
    await networkQuiet(page);
    const paged = changeRequests.slice(before);
    assert.equal(paged.length, 2, `two page requests after one scroll: ${paged}`);
    assert.match(paged[1], /cursor=/);

    // Searching 10,000 employees: a page of 10 per search.
    const searchBefore = employeeRequests.length;
    t0 = Date.now();
    await page.evaluate(() => { location.hash = '#/'; });
    await page.fill('#employee-q', 'Scale 0999');
    await eventually(async () => {
      const names = await page.locator('#employee-results a.employee-link').allTextContents();
      return names.length >= 1 && names.every((n) => n.startsWith('Scale 0999'));
    }, { what: 'the search to narrow down' });
    const search = Date.now() - t0;
    const searchRequests = employeeRequests.length - searchBefore;

    const total = changeRequests.length + employeeRequests.length;
    console.log(`# scale: dashboard first changes ${dashChanges} ms, first employees ${dashEmployees} ms; `
      + `Changes page first 50 rows ${firstRows} ms after ${pageRequests.length} request; next page ${nextPage} ms; `
      + `employee search ${search} ms (${searchRequests} request${searchRequests === 1 ? '' : 's'}); `
      + `${total} list requests in all (${changeRequests.length} changes, ${employeeRequests.length} employees) `
      + `for ${EMPLOYEES} employees and ${CHANGES} changes`);
    assert.ok(changeRequests.length <= 4, `changes requests: ${changeRequests}`);
    assert.ok(firstRows < 5_000, `first rows of the Changes page after ${firstRows} ms`);
  } finally {
    await page.context().close();
  }
});

noScriptErrors();
