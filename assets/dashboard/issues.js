/* The Issues page (#/issues): the company's open and recently resolved issues in plain words
 * with what to do (advice.js), and the errors of its latest sync — who, what happened, what to
 * do — with "Retry failed employees" (operators), a targeted sync of the employees a retry may
 * fix, followed live like any other session. */

import { api } from './api.js';
import { issueText } from './advice.js';
import { companyById, companyName, manyCompanies, selectedCompany, withCompany } from './company.js';
import { $, el } from './dom.js';
import { fmtCount, fmtDate, fmtDateTime, plural, relTime, statusLabel } from './format.js';
import { onActivity } from './live.js';
import { employeeNames } from './names.js';
import { errorList, retryButton } from './sessions.js';
import { follow } from './sync.js';
import { reportError, toast } from './toasts.js';

const RECENT = 20;
let seq = 0;
let unsubscribe = null;

export const issuesPage = {
  name: 'issues',
  pattern: /^\/issues$/,
  element: '#issues-page',
  title: 'Issues',
  nav: 'Issues',
  navPath: '/issues',
  show() {
    if (!unsubscribe) {
      unsubscribe = onActivity((ev) => { if (ev.status !== 'running' && ev.company_id === selectedCompany()) loadIssues(); });
    }
    loadIssues();
  },
  hide() {
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
  },
};

function issueItem(issue) {
  const { title, advice } = issueText(issue);
  const company = companyById(issue.company_id);
  const expiry = issue.kind === 'api_key_expiring' && company?.api_key_expires_at
    ? ` The key expires ${fmtDate(company.api_key_expires_at)}.` : '';
  return el('li', { class: 'issue', dataset: { kind: issue.kind, status: issue.status } },
    el('div', { class: 'issue-head' },
      el('strong', { class: 'issue-title', text: title }),
      el('span', { class: 'pill', dataset: { status: issue.status === 'ongoing' ? 'failed' : 'completed' },
        text: issue.status === 'ongoing' ? 'Open' : 'Resolved' })),
    el('p', { class: 'issue-advice', text: `${advice}${expiry}` }),
    el('p', { class: 'issue-meta' },
      manyCompanies() ? `${companyName(issue.company_id)} · ` : '',
      `first seen ${fmtDateTime(issue.first_seen)}, last ${relTime(issue.last_seen)}`,
      issue.count > 1 ? ` · ${plural(issue.count, 'time')}` : ''),
    el('details', { class: 'error-technical' }, el('summary', { text: 'Technical details' }),
      el('code', { text: `${issue.kind}: ${issue.message || ''}` })));
}

export async function loadIssues() {
  const mine = ++seq;
  try {
    const [open, resolved, latest] = await Promise.all([
      api(withCompany('/api/issues?status=ongoing&limit=100')),
      api(withCompany(`/api/issues?status=resolved&limit=${RECENT}`)),
      api(withCompany('/api/sync/sessions?limit=1&quiet=false')),
    ]);
    if (mine !== seq) return;
    $('#issues-open').replaceChildren(...open.issues.map(issueItem));
    $('#issues-open-empty').hidden = open.issues.length > 0;
    $('#issues-resolved').replaceChildren(...resolved.issues.map(issueItem));
    $('#issues-resolved-empty').hidden = resolved.issues.length > 0;
    await renderLatestErrors(latest.sessions[0], mine);
  } catch (err) {
    reportError('Could not load the issues', err);
  }
}

async function renderLatestErrors(summary, mine) {
  if (!summary || !summary.errors_count) {
    $('#latest-errors-summary').textContent = summary
      ? `The latest sync (${fmtDateTime(summary.requested_at)}, ${statusLabel(summary.status).toLowerCase()}) had no errors.`
      : 'No sync has run yet.';
    $('#latest-errors').replaceChildren();
    $('#retry-slot').replaceChildren();
    return;
  }
  const session = await api(`/api/sync/sessions/${encodeURIComponent(summary.id)}`);
  const names = await employeeNames((session.errors || []).map((e) => e.employee_id));
  if (mine !== seq) return;
  $('#latest-errors-summary').textContent = `The sync of ${fmtDateTime(session.requested_at)} `
    + `(${statusLabel(session.status).toLowerCase()}) had ${plural(session.errors_count || 0, 'error')}`
    + `${session.errors_count > (session.errors || []).length ? `; the first ${fmtCount(session.errors.length)} are shown` : ''}.`;
  $('#latest-errors').replaceChildren(errorList(session.errors || [], names));
  const button = retryButton(session, (id) => {
    toast('info', 'Retry started');
    follow(id);
  });
  $('#retry-slot').replaceChildren(...(button ? [button] : []));
}
