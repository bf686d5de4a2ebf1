// Steps the feature scenarios share (the harness is ./harness.mjs): a sync through the API,
// waited for; simulator mutations; an axe-core check; downloads read back.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT, authed, base, eventually, json, shot, sim } from './harness.mjs';

const require = createRequire(import.meta.url);
export const AXE = require.resolve('axe-core/axe.min.js');

/** Starts a full sync through the API and waits until it has finished; returns the session. */
export async function syncAndWait(body = {}) {
  const r = await json('POST', `${base}/api/sync`, body, authed);
  assert.equal(r.status, 202, JSON.stringify(r.data));
  const id = r.data.session_id;
  return eventually(async () => {
    const s = (await json('GET', `${base}/api/sync/sessions/${id}`, undefined, authed)).data;
    return ['completed', 'completed_with_errors', 'failed'].includes(s.status) ? s : null;
  }, { timeout: 60_000, interval: 250, what: `session ${id} to finish` });
}

/** Applies a simulator mutation (`POST /_sim/mutations`). */
export async function mutate(body) {
  const r = await json('POST', `${sim}/_sim/mutations`, body);
  assert.equal(r.status, 200, `mutation ${JSON.stringify(body)}: ${JSON.stringify(r.data)}`);
  return r.data;
}

/** The simulated company's employees (ground truth). */
export async function simEmployees() {
  return (await json('GET', `${sim}/_sim/employees`)).data.employees;
}

/** GET on the API as the test token. */
export async function apiGet(path) {
  const r = await json('GET', `${base}${path}`, undefined, authed);
  assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.data)}`);
  return r.data;
}

/** Every item of a cursor-paged list. */
export async function allPages(path, key) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await apiGet(`${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page[key]);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

/** Clicks `selector` and reads the file the page downloads (CSV text). */
export async function download(page, selector) {
  const [file] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), page.click(selector)]);
  const where = await file.path();
  return { name: file.suggestedFilename(), text: fs.readFileSync(where, 'utf8') };
}

/** Rows of a CSV text (RFC 4180: quoted fields may hold commas, quotes and line breaks). */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i += 1; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; } else if (ch === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 1; } else field += ch;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

/** axe-core on the page as it is: the violations of impact serious or critical (WCAG 2.x A/AA). */
export async function axeViolations(page) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
}

/** Opens a route of the signed-in page (`/changes`) and waits for its element. */
export async function openRoute(page, route, element) {
  await page.evaluate((to) => { location.hash = to; }, `#${route}`);
  await page.locator(element).waitFor({ state: 'visible', timeout: 10_000 });
}

/** Today as the page's clock (Europe/Amsterdam, as the harness's browser) sees it: YYYY-MM-DD. */
export const todayInAmsterdam = (offsetDays = 0) => new Date(Date.now() + offsetDays * 86_400_000)
  .toLocaleDateString('en-CA', { timeZone: 'Europe/Amsterdam' });

/** With UPDATE_README_SCREENSHOT=1: the page as the screen shows it (or, `fullPage`, all of it),
 *  saved as docs/<name>.png (a README picture; opt-in so a test run leaves the tree clean). */
export async function readmeShot(page, name, { fullPage = false } = {}) {
  if (!process.env.UPDATE_README_SCREENSHOT) return;
  fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
  fs.copyFileSync(await shot(page, `readme-${name}`, fullPage), path.join(ROOT, `docs/${name}.png`));
}
