// Real-browser tests of what each role is offered (issue 21, item 9): a viewer sees no Sync Now,
// no "Retry failed employees" and no admin pages; an operator gets the actions but not the admin
// pages; an admin gets Companies and Endpoints. No page asks for something its role would be
// refused (the harness fails the file on any 403). One service, three API tokens.
//
// Run: ./scripts/browser-test.sh, or with a built binary:
// EMPLOYES_SYNC_BIN=target/debug/employes-sync node --test tests/browser/roles.test.mjs

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  DESKTOP,
  NO_FAULTS,
  TOKEN,
  authed,
  base,
  eventually,
  faults,
  json,
  newPage,
  noScriptErrors,
  scenario,
  seeText,
  shot,
  useService,
} from './harness.mjs';

const VIEWER = `viewer-${randomBytes(16).toString('hex')}`;
const OPERATOR = `operator-${randomBytes(16).toString('hex')}`;

useService({ WATCH_INTERVAL: 'off', API_TOKENS: `browser:${TOKEN}:admin,hr-viewer:${VIEWER}:viewer,hr-operator:${OPERATOR}:operator` });

const navLinks = (page) => page.locator('#nav a.nav-link').allTextContents();

/** A sync with errors, so there is something to retry. */
scenario('setup: a sync that completed with errors', async () => {
  await faults({ error_rate: 1.0, error_status: 500, endpoints: ['employments'] });
  try {
    const r = await json('POST', `${base}/api/sync`, {}, authed);
    assert.equal(r.status, 202, JSON.stringify(r.data));
    await eventually(async () => {
      const s = (await json('GET', `${base}/api/sync/sessions/${r.data.session_id}`, undefined, authed)).data;
      return s.status === 'completed_with_errors';
    }, { timeout: 60_000, what: 'the sync to complete with errors' });
  } finally {
    await faults(NO_FAULTS);
  }
});

async function signIn(token, name) {
  const page = await newPage(DESKTOP, name);
  await page.goto(`${base}/employes-sync#token=${token}`);
  await page.locator('#dashboard').waitFor({ state: 'visible', timeout: 10_000 });
  await seeText(page, '#status-badge', /^Current — last sync had \d+ errors?$/);
  return page;
}

scenario('a viewer sees the data but no Sync Now, no retry, and no admin pages', async () => {
  const page = await signIn(VIEWER, 'viewer');
  try {
    await seeText(page, '#signed-in-as', 'hr-viewer (viewer)');
    assert.equal(await page.locator('#sync-now').isVisible(), false, 'no Sync Now');
    assert.deepEqual(await navLinks(page), ['Dashboard', 'Changes', 'Upcoming', 'Issues', 'Sessions']);
    await shot(page, 'roles-01-viewer-dashboard');

    // The session's errors are shown, without the retry.
    await page.click('#sessions > tr.session >> nth=0');
    await page.locator('#session-detail .error-list > li').first().waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#session-detail button.retry-failed').count(), 0, 'no retry in the session detail');
    await page.click('#nav a[data-page="issues"]');
    await page.locator('#latest-errors .error-list > li').first().waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#retry-slot button').count(), 0, 'no retry on the Issues page');
    await shot(page, 'roles-02-viewer-issues');

    // The admin pages are not there, even by address.
    for (const hash of ['#/companies', '#/endpoints']) {
      await page.evaluate((h) => { location.hash = h; }, hash);
      await page.locator('#dashboard').waitFor({ state: 'visible', timeout: 5_000 });
      assert.ok(await page.locator('#companies-page').isHidden() && await page.locator('#endpoints-page').isHidden(), hash);
    }
  } finally {
    await page.context().close();
  }
});

scenario('an operator gets Sync Now and "Retry failed employees", but no admin pages', async () => {
  const page = await signIn(OPERATOR, 'operator');
  try {
    await seeText(page, '#signed-in-as', 'hr-operator (operator)');
    assert.ok(await page.locator('#sync-now').isVisible(), 'Sync Now');
    assert.deepEqual(await navLinks(page), ['Dashboard', 'Changes', 'Upcoming', 'Issues', 'Sessions']);
    await page.click('#nav a[data-page="issues"]');
    await page.locator('#retry-slot button.retry-failed').waitFor({ state: 'visible', timeout: 10_000 });
    await shot(page, 'roles-03-operator-issues');
    await page.evaluate(() => { location.hash = '#/companies'; });
    await page.locator('#dashboard').waitFor({ state: 'visible', timeout: 5_000 });
  } finally {
    await page.context().close();
  }
});

scenario('an admin gets the Companies and Endpoints pages', async () => {
  const page = await signIn(TOKEN, 'admin');
  try {
    await seeText(page, '#signed-in-as', 'browser (admin)');
    assert.deepEqual(await navLinks(page), ['Dashboard', 'Changes', 'Upcoming', 'Issues', 'Sessions', 'Companies', 'Endpoints']);
    await page.click('#nav a[data-page="companies"]');
    await page.locator('#companies-rows > tr').first().waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#nav a[aria-current="page"]').textContent(), 'Companies');
    await shot(page, 'roles-04-admin-companies');
    await page.click('#nav a[data-page="endpoints"]');
    await page.locator('#endpoints-empty').waitFor({ state: 'visible', timeout: 10_000 });
  } finally {
    await page.context().close();
  }
});

noScriptErrors();
