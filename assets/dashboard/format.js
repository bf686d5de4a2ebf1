/* Numbers, dates, durations and labels as the page shows them (en-GB). */

const STATUS_LABELS = {
  pending: 'Pending', queued: 'Queued', running: 'Running', completed: 'Completed',
  completed_with_errors: 'Completed with errors', failed: 'Failed',
};

const numberFmt = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 2 });
export const pctFmt = new Intl.NumberFormat('en-GB', { style: 'percent', maximumFractionDigits: 1 });
const dateTimeFmt = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
const dateFmt = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone: 'UTC' });

export const plural = (n, word) => `${numberFmt.format(n)} ${word}${n === 1 ? '' : 's'}`;
export const humanize = (s) => String(s || '').replace(/_/g, ' ');
export const capitalize = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);
export const statusLabel = (s) => STATUS_LABELS[s] || humanize(s) || '—';
export const parseTime = (iso) => { const d = iso ? new Date(iso) : null; return d && !isNaN(d) ? d : null; };
export const fmtDateTime = (iso) => { const d = parseTime(iso); return d ? dateTimeFmt.format(d) : '—'; };
export const fmtCount = (n) => (typeof n === 'number' ? numberFmt.format(n) : '—');
export const orDash = (v) => (v === null || v === undefined || v === '' ? '—' : String(v));
export const signedPct = (p) => `${p > 0 ? '+' : ''}${p.toFixed(1)} %`;

/** A calendar date (`YYYY-MM-DD`, shown as that day in UTC) or a timestamp. */
export function fmtDate(value) {
  if (!value) return '—';
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const d = m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])) : parseTime(value);
  return d ? dateFmt.format(d) : String(value);
}

export function relTime(iso) {
  const d = parseTime(iso);
  if (!d) return '—';
  const mins = Math.floor((Date.now() - d.getTime()) / 60000);
  if (mins < 1) return 'just now';
  if (mins < 60) return `${plural(mins, 'minute')} ago`;
  const hours = Math.floor(mins / 60);
  if (hours < 24) return `${plural(hours, 'hour')} ago`;
  return `${plural(Math.floor(hours / 24), 'day')} ago`;
}

export function duration(startIso, endIso) {
  const a = parseTime(startIso);
  const b = parseTime(endIso);
  if (!a || !b) return '—';
  const total = Math.max(0, Math.round((b - a) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h) return `${h} h ${m} m`;
  return m ? `${m} m ${s} s` : `${s} s`;
}

/** An amount in euros (cents only when it has them); anything not a number as it is. */
export function euro(value) {
  const n = Number(value);
  if (value === null || value === undefined || value === '' || !isFinite(n)) return value ?? '—';
  const digits = Number.isInteger(n) ? 0 : 2;
  return new Intl.NumberFormat('en-GB', {
    style: 'currency', currency: 'EUR', minimumFractionDigits: digits, maximumFractionDigits: digits,
  }).format(n);
}

export function plainNumber(value) {
  const n = Number(value);
  if (value === null || value === undefined || value === '') return '—';
  return isFinite(n) ? numberFmt.format(n) : String(value);
}
