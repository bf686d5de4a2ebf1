// Accessibility of every page (issue 21, item 10): axe-core (from the npm registry, injected
// into the page) finds no serious or critical violation of WCAG 2.1 A/AA on any page — each
// page the navigation links to, the employee page and the sign-in form; every page fits a
// 360 px wide screen without horizontal scrolling; the pages work from the keyboard with a
// visible focus; toasts never cover the page's content (the change dates, the statistics), an
// error toast of a failing sync on a desktop screen included.

import assert from 'node:assert/strict';
import {
  NO_FAULTS, TOKEN, base, eventually, faults, newPage, noHorizontalScroll, noScriptErrors, scenario, seeText, shot, useService, networkQuiet,
} from './harness.mjs';
import { apiGet, axeViolations, syncAndWait } from './flows.mjs';

useService();

const NARROW = { width: 360, height: 780 };
const WIDE = { width: 1280, height: 900 };

/** The routes the navigation links to (whatever pages exist), the employee page and the dashboard. */
async function routes(page) {
  const links = await page.locator('#nav a.nav-link').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  const employee = (await apiGet('/api/employees?limit=1')).employees[0];
  return [...new Set(['#/', '#/changes', '#/upcoming', ...links, `#/employees/${employee.id}`])];
}

/** Waits until the page shown has finished loading (no "Loading…" left, lists filled). */
async function settled(page) {
  await networkQuiet(page);
  await eventually(async () => !(await page.locator('main :text("Loading…"):visible').count()), { what: 'loading to finish' });
}

const shown = (page) => page.evaluate(() => [...document.querySelectorAll('main > [id]')].filter((e) => !e.hidden).map((e) => e.id));

scenario('axe-core finds no serious or critical violation on any page, wide and at 360 px, and nothing scrolls sideways', async () => {
  await syncAndWait();
  const found = [];
  for (const viewport of [WIDE, NARROW]) {
    const page = await newPage(viewport, `a11y-${viewport.width}`);
    try {
      await page.goto(`${base}/employes-sync#token=${TOKEN}`);
      await seeText(page, '#status-badge', /\S/);
      if (viewport === WIDE) {
        // The check itself: an image without a text alternative is a critical violation it reports.
        await page.evaluate(() => { const i = document.createElement('img'); i.id = 'axe-probe'; i.src = 'data:,'; document.querySelector('main').append(i); });
        assert.ok((await axeViolations(page)).some((v) => v.id === 'image-alt'), 'axe-core reports a known violation');
        await page.evaluate(() => document.querySelector('#axe-probe').remove());
      }
      for (const route of await routes(page)) {
        await page.evaluate((to) => { location.hash = to; }, route);
        await settled(page);
        const violations = await axeViolations(page);
        if (violations.length) found.push({ route, width: viewport.width, shown: await shown(page), violations });
        if (viewport === NARROW) await noHorizontalScroll(page);
        const slug = route.replace(/[^a-z]+/gi, '-').replace(/^-|-$/g, '') || 'dashboard';
        await shot(page, `a11y-${viewport.width}-${slug.startsWith('employees') ? 'employee' : slug}`);
      }
      // The sign-in form too.
      await page.click('#sign-out');
      await page.locator('#signin').waitFor({ state: 'visible' });
      const violations = await axeViolations(page);
      if (violations.length) found.push({ route: 'sign-in', width: viewport.width, violations });
      if (viewport === NARROW) await noHorizontalScroll(page);
    } finally {
      await page.context().close();
    }
  }
  assert.deepEqual(found, [], JSON.stringify(found, null, 2));
});

scenario('the pages work from the keyboard: the skip link, the navigation and Sync Now, each with a visible focus', async () => {
  const page = await newPage(WIDE, 'a11y-keyboard');
  try {
    await page.goto(`${base}/employes-sync#token=${TOKEN}`);
    await seeText(page, '#status-badge', /\S/);
    // Every element that takes the focus by Tab shows it (an outline or a box shadow).
    const seen = [];
    for (let i = 0; i < 25; i += 1) {
      await page.keyboard.press('Tab');
      const f = await page.evaluate(() => {
        const e = document.activeElement;
        if (!e || e === document.body) return null;
        const s = getComputedStyle(e);
        return { what: `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''} ${e.textContent.trim().slice(0, 30)}`,
          outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2, shadow: s.boxShadow !== 'none',
          name: e.getAttribute('aria-label') || e.labels?.[0]?.textContent || e.textContent.trim() || e.getAttribute('title') };
      });
      if (f) seen.push(f);
    }
    assert.ok(seen.length >= 10, JSON.stringify(seen));
    const unseen = seen.filter((f) => !f.outline && !f.shadow);
    assert.deepEqual(unseen, [], 'every focused element shows its focus');
    const nameless = seen.filter((f) => !f.name || !f.name.trim());
    assert.deepEqual(nameless, [], 'every focusable element has a name');
    assert.match(seen[0].what, /Skip to content/, 'the first Tab reaches the skip link');
    // The skip link moves the focus to the content; Enter on a navigation link opens its page.
    await page.goto(`${base}/employes-sync`);
    await seeText(page, '#status-badge', /\S/);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
    const changesLink = page.locator('#nav a.nav-link', { hasText: 'Changes' });
    if (await changesLink.count()) {
      await changesLink.focus();
      await page.keyboard.press('Enter');
      await page.locator('#changes-page').waitFor({ state: 'visible', timeout: 5_000 });
    }
    await page.evaluate(() => { location.hash = '#/'; });
    await page.locator('#sync-now').focus();
    await shot(page, 'a11y-focus-visible', false);
  } finally {
    await page.context().close();
  }
});

/** Every visible piece of text in the page's content, and every card and statistics tile, that
 *  a toast's box overlaps; on a wide screen also every table the toasts' column leaves too narrow. */
const covered = (page) => page.evaluate(() => {
  const boxes = [...document.querySelectorAll('#toasts .toast')].map((t) => t.getBoundingClientRect());
  const overlaps = (r) => boxes.some((b) => r.left < b.right && r.right > b.left && r.top < b.bottom && r.bottom > b.top);
  const hits = [];
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const r of range.getClientRects()) {
      if (!r.width || !r.height) continue;
      if (overlaps(r)) {
        hits.push(n.textContent.trim().slice(0, 40));
        break;
      }
    }
  }
  for (const e of document.querySelectorAll('main .card, #stats .tile')) {
    const r = e.getBoundingClientRect();
    if (r.width && r.height && overlaps(r)) hits.push(`<${e.tagName.toLowerCase()} class="${e.className}"> ${e.textContent.trim().slice(0, 30)}`);
  }
  // Nor does the room the page makes for them push a table's columns out of sight.
  if (boxes.length && window.innerWidth > 900) {
    for (const w of document.querySelectorAll('main .table-wrap')) {
      if (w.offsetParent && w.scrollWidth > w.clientWidth + 1) hits.push(`a table ${w.scrollWidth - w.clientWidth} px wider than its card`);
    }
  }
  return { toasts: boxes.length, hits };
});

/** Checks `covered` (`shown`: with a toast on screen) at the top, with the statistics and the change dates scrolled into view, and at the bottom. */
async function nothingCovered(page, name, { shown = false } = {}) {
  for (const where of ['top', '#stats', '#changes-list .change-date', 'bottom']) {
    await page.evaluate((w) => {
      if (w === 'top') window.scrollTo(0, 0);
      else if (w === 'bottom') window.scrollTo(0, document.documentElement.scrollHeight);
      else document.querySelector(w).scrollIntoView({ block: 'end' });
    }, where);
    const c = await covered(page);
    if (shown) assert.ok(c.toasts > 0, `a toast is shown (${name}, ${where})`);
    if (c.toasts) assert.deepEqual(c.hits, [], `toasts cover content (${name}, ${where})`);
  }
}

async function signedIn(viewport, name) {
  const page = await newPage(viewport, name);
  await page.goto(`${base}/employes-sync#token=${TOKEN}`);
  await seeText(page, '#status-badge', 'All data current');
  await eventually(async () => (await page.locator('#changes-list > li').count()) >= 3, { what: 'the changes' });
  return page;
}

scenario('toasts never cover the content: the change dates on a wide screen, the statistics on a phone', async () => {
  for (const [viewport, name] of [[WIDE, 'wide'], [NARROW, 'phone']]) {
    const page = await signedIn(viewport, `a11y-toasts-${name}`);
    try {
      await page.click('#sync-now');
      await page.locator('#toasts .toast').first().waitFor({ state: 'visible', timeout: 10_000 });
      await nothingCovered(page, name);
      await shot(page, `a11y-toast-${name}`, false);
      await noHorizontalScroll(page);
      await eventually(async () => (await page.locator('#sync-now').isEnabled()), { timeout: 45_000, what: 'the sync to end' });
    } finally {
      await page.context().close();
    }
  }
});

scenario('the error toast of a failing sync covers neither the statistics nor any other content on a desktop screen', async () => {
  for (const [viewport, name] of [[WIDE, 'desktop-error'], [NARROW, 'phone-error']]) {
    const page = await signedIn(viewport, `a11y-toasts-${name}`);
    await faults({ reject_auth: true });
    try {
      await page.click('#sync-now');
      await page.locator('#toasts .toast[data-kind="error"]').first().waitFor({ state: 'visible', timeout: 30_000 });
      await seeText(page, '#status-badge', 'Error');
      await networkQuiet(page);
      await nothingCovered(page, name, { shown: true });
      await shot(page, `a11y-toast-${name}`, false);
      await noHorizontalScroll(page);
      // The Sessions page beside the error toast: every column of its table in sight.
      await page.evaluate(() => { location.hash = '#/sessions'; });
      await page.locator('#history-rows > tr.session').first().waitFor({ timeout: 10_000 });
      const c = await covered(page);
      assert.ok(c.toasts > 0, 'the error toast stays');
      assert.deepEqual(c.hits, [], `toasts cover or squeeze the Sessions page (${name})`);
      await shot(page, `a11y-toast-${name}-sessions`, false);
    } finally {
      await faults(NO_FAULTS);
      await page.context().close();
    }
    await syncAndWait(); // the company is current again
  }
});

noScriptErrors();
