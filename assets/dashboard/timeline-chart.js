/* The employee page's pictures, as SVG: wage and hours over time (two step lines, each on its own
 * scale) and the contracts as a bar (fixed and permanent in two colours, gaps left empty — the
 * chain rule made visible). Built with createElementNS; every text is set with textContent. */

const NS = 'http://www.w3.org/2000/svg';
const W = 640;
const PAD = { left: 56, right: 56, top: 16, bottom: 28 };
const DAY = 86_400_000;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

const day = (s) => (s ? Date.UTC(+s.slice(0, 4), +s.slice(5, 7) - 1, +s.slice(8, 10)) : null);

/** The time axis shared by the chart and the bar: first start to the latest date, today included. */
export function timeRange(timeline, today = Date.now()) {
  const dates = [];
  for (const list of [timeline.salary, timeline.hours, timeline.contracts]) {
    for (const p of list) { dates.push(day(p.start_date)); if (p.end_date) dates.push(day(p.end_date)); }
  }
  if (!dates.length) return null;
  const from = Math.min(...dates);
  const to = Math.max(...dates, today);
  return { from, to: to > from ? to : from + DAY };
}

const xOf = (range, t) => PAD.left + ((t - range.from) / (range.to - range.from)) * (W - PAD.left - PAD.right);

function yearTicks(root, range, y) {
  const first = new Date(range.from).getUTCFullYear() + 1;
  const last = new Date(range.to).getUTCFullYear();
  const step = Math.max(1, Math.ceil((last - first + 1) / 8));
  for (let year = first; year <= last; year += step) {
    const x = xOf(range, Date.UTC(year, 0, 1));
    root.append(svg('line', { x1: x, x2: x, y1: PAD.top, y2: y, class: 'grid' }));
    root.append(svg('text', { x, y: y + 18, 'text-anchor': 'middle', class: 'axis' }, String(year)));
  }
}

/** A step line of `periods` (value from each start until the next start, or its end). */
function steps(range, periods, value, scale) {
  const points = [];
  periods.forEach((p, i) => {
    const v = value(p);
    if (typeof v !== 'number') return;
    const start = day(p.start_date);
    const next = periods[i + 1] ? day(periods[i + 1].start_date) : null;
    const end = p.end_date ? Math.min(day(p.end_date) + DAY, next ?? Infinity) : (next ?? range.to);
    points.push([xOf(range, start), scale(v)], [xOf(range, Math.min(end, range.to)), scale(v)]);
  });
  return points.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
}

function scaleFor(values, top, bottom) {
  const nums = values.filter((v) => typeof v === 'number');
  if (!nums.length) return null;
  const max = Math.max(...nums) * 1.1 || 1;
  return { max, at: (v) => bottom - (v / max) * (bottom - top) };
}

/** Wage (left axis, euros a month, else an hour) and hours a week (right axis) over time. */
export function wageHoursChart(timeline, { euro, plainNumber, label }) {
  const range = timeRange(timeline);
  const H = 220;
  const bottom = H - PAD.bottom;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': label });
  root.append(svg('title', {}, label));
  if (!range) return root;
  const monthly = timeline.salary.some((s) => typeof s.month_wage === 'number');
  const wage = (s) => (monthly ? s.month_wage : s.hour_wage);
  const wages = scaleFor(timeline.salary.map(wage), PAD.top, bottom);
  const hours = scaleFor(timeline.hours.map((h) => h.hours_per_week), PAD.top, bottom);
  yearTicks(root, range, bottom);
  root.append(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: bottom, y2: bottom, class: 'axis-line' }));
  if (wages) {
    root.append(svg('path', { d: steps(range, timeline.salary, wage, wages.at), class: 'line wage' }));
    root.append(svg('text', { x: PAD.left - 6, y: PAD.top + 10, 'text-anchor': 'end', class: 'axis wage' }, euro(Math.round(wages.max))));
    root.append(svg('text', { x: PAD.left - 6, y: bottom, 'text-anchor': 'end', class: 'axis wage' }, euro(0)));
  }
  if (hours) {
    root.append(svg('path', { d: steps(range, timeline.hours, (h) => h.hours_per_week, hours.at), class: 'line hours' }));
    root.append(svg('text', { x: W - PAD.right + 6, y: PAD.top + 10, class: 'axis hours' }, `${plainNumber(Math.round(hours.max))} h`));
    root.append(svg('text', { x: W - PAD.right + 6, y: bottom, class: 'axis hours' }, '0 h'));
  }
  return root;
}

/** The contracts on the same time axis: one rectangle each, a gap where none runs. */
export function contractBar(timeline, { label, describe }) {
  const range = timeRange(timeline);
  const H = 44;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'contract-bar', role: 'img', 'aria-label': label });
  root.append(svg('title', {}, label));
  if (!range) return root;
  root.append(svg('rect', { x: PAD.left, y: 8, width: W - PAD.left - PAD.right, height: 24, class: 'bar-track' }));
  for (const c of timeline.contracts) {
    const x1 = xOf(range, day(c.start_date));
    const x2 = xOf(range, c.end_date ? day(c.end_date) + DAY : range.to);
    const rect = svg('rect', {
      x: x1.toFixed(1), y: 8, width: Math.max(2, x2 - x1).toFixed(1), height: 24, rx: 4,
      class: `bar ${c.contract_duration === 'permanent' ? 'permanent' : 'fixed'}`,
    });
    rect.append(svg('title', {}, describe(c)));
    root.append(rect);
  }
  return root;
}
