/* Milestones in plain words: what each kind means for the contract, its urgency as of the
 * service's "today", and how long until it is due. */

import { euro, fmtDate, plural } from './format.js';

export const MILESTONE_LABELS = {
  contract_ending: 'Contract ends',
  notice_due: 'Written notice due (aanzegplicht)',
  chain_limit: 'Last fixed contract of the chain',
  chain_exceeded: 'Chain exceeded: the contract is permanent by law',
  change_effective: 'Change takes effect',
};

const CHANGE_WORDS = { salary_change: 'salary change', hours_change: 'change of hours', contract_change: 'contract change' };

const ordinal = (n) => {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] || 'th');
  return `${n}${suffix}`;
};

/** What the milestone asks for, e.g. "Written notice due by 28 Feb 2027 — the contract ends 31 Mar 2027". */
export function explain(m) {
  const d = m.details || {};
  const end = m.contract && m.contract.end_date ? fmtDate(m.contract.end_date) : null;
  switch (m.kind) {
    case 'notice_due': {
      const owed = typeof d.max_compensation === 'number'
        ? ` Without timely written notice up to ${euro(d.max_compensation)} (one month's wage) is owed.` : '';
      return `Written notice due by ${fmtDate(m.due_date)} — the contract ends ${end || fmtDate(m.due_date)}. `
        + `Tell the employee in writing whether the contract is continued.${owed}`;
    }
    case 'contract_ending':
      return `The fixed contract ends ${fmtDate(m.due_date)} — renew it, make it permanent or let it end.`;
    case 'chain_limit':
      return d.reason === 'max_duration'
        ? `The fixed contracts in a row since ${fmtDate(d.chain_start)} reach the longest chain allowed on ${fmtDate(m.due_date)} — a next contract must be permanent.`
        : `The fixed contract ending ${fmtDate(m.due_date)} is the ${ordinal(d.contracts_in_chain)} in a row since ${fmtDate(d.chain_start)} — a next contract must be permanent.`;
    case 'chain_exceeded':
      return `The contract is permanent by law since ${fmtDate(d.permanent_since || m.due_date)}: `
        + (d.reason === 'max_duration'
          ? `the fixed contracts in a row since ${fmtDate(d.chain_start)} passed the longest chain allowed.`
          : `${plural(d.contracts_in_chain, 'fixed contract')} in a row since ${fmtDate(d.chain_start)}.`);
    case 'change_effective':
      return `A ${CHANGE_WORDS[d.change_type] || 'change'} takes effect on ${fmtDate(m.due_date)}.`;
    default:
      return `Due ${fmtDate(m.due_date)}.`;
  }
}

/** Whole days from `today` to `date` (both `YYYY-MM-DD`). */
export function daysBetween(today, date) {
  const t = Date.parse(`${today}T00:00:00Z`);
  const d = Date.parse(`${date}T00:00:00Z`);
  return Math.round((d - t) / 86_400_000);
}

/** 'overdue', 'week' (due within 7 days, today included), 'month' (within 30) or 'later'. */
export function urgency(m, today) {
  if (m.status === 'resolved') return 'resolved';
  const days = daysBetween(today, m.due_date);
  if (days < 0) return 'overdue';
  if (days <= 7) return 'week';
  if (days <= 30) return 'month';
  return 'later';
}

/** "Overdue by 3 days", "Due today", "In 12 days". */
export function whenText(m, today) {
  const days = daysBetween(today, m.due_date);
  if (days < 0) return `Overdue by ${plural(-days, 'day')}`;
  if (days === 0) return 'Due today';
  return days === 1 ? 'Tomorrow' : `In ${plural(days, 'day')}`;
}
