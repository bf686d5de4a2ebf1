/* Plain words for what went wrong and what to do: company issues (GET /api/issues) and a
 * session's errors (their `code` and the endpoint their message names). The technical message
 * stays available behind "Technical details"; the page never leads with it. */

import { fmtDate } from './format.js';

/** What each issue kind means for an HR user, and what to do about it. */
const ISSUES = {
  auth_failed: {
    title: 'The API key was rejected',
    advice: 'Create a new key in Employes and update it under Companies.',
  },
  api_unavailable: {
    title: 'Employes could not be reached, or kept answering with an error',
    advice: 'Nothing is lost: the next sync tries again. If this lasts for hours, ask Employes support whether their API is down.',
  },
  rate_limited: {
    title: 'Employes asked us to slow down',
    advice: 'Syncs still finish, more slowly. If this keeps happening, lower the company\'s rate limit under Companies.',
  },
  sync_failed: {
    title: 'A sync failed',
    advice: 'Open the session under Sessions to see why; start a new sync once the cause is fixed.',
  },
  api_key_expiring: {
    title: 'The API key expires soon',
    advice: 'Create a new key in Employes before it expires and update it under Companies.',
  },
  endpoint_disabled: {
    title: 'A subscriber endpoint was switched off',
    advice: 'Its deliveries kept failing. Fix the receiving system, then enable the endpoint again under Endpoints.',
  },
};

export function issueText(issue) {
  const known = ISSUES[issue.kind] || { title: 'Something needs attention', advice: 'See the technical details below.' };
  return known;
}

/** The part of Employes a message names ("GET /employees/{id}/employments" → their contracts). */
function what(message) {
  if (/\/employments/.test(message || '')) return 'their contracts and wages';
  if (/\/employees\/\{id\}/.test(message || '')) return 'their record';
  if (/GET \/employees\b/.test(message || '')) return 'the list of employees';
  return 'the data';
}

/** One session error in plain words: { text, advice, retry } (retry: a targeted sync may help). */
export function errorText(e) {
  const part = what(e.message);
  const status = Number((/answered (\d{3})/.exec(e.message || '') || [])[1]);
  switch (e.code) {
    case 'unauthorized':
      return { text: 'Employes rejected the API key.', advice: ISSUES.auth_failed.advice, retry: false };
    case 'forbidden':
      return { text: `Employes did not allow reading ${part}.`, advice: 'Check that the API key belongs to this company and may read employees.', retry: false };
    case 'rate_limited':
      return { text: `Employes was too busy to hand over ${part} (too many requests).`, advice: 'Retry in a few minutes.', retry: true };
    case 'timeout':
      return { text: `Employes did not answer in time while we read ${part}.`, advice: 'Usually temporary: retry in a few minutes.', retry: true };
    case 'connect':
      return { text: `Employes could not be reached while we read ${part}.`, advice: 'Check the network, or retry in a few minutes.', retry: true };
    case 'malformed':
      return { text: `Employes sent ${part} in a form we could not read.`, advice: 'Retry; if it happens again, report it to Employes support.', retry: true };
    case 'invalid_record':
      return { text: 'Employes sent an employee record with missing or invalid fields.', advice: 'Check the employee in Employes (name, status), then retry.', retry: true };
    case 'upstream_status':
      return status >= 500
        ? { text: `Employes had a temporary problem while we read ${part}.`, advice: 'Usually temporary: retry in a few minutes.', retry: true }
        : status === 404
          ? { text: `Employes no longer has ${part}.`, advice: 'The employee may have been removed in Employes; the next full sync settles it.', retry: true }
          : { text: `Employes refused to hand over ${part}.`, advice: 'Retry; if it keeps failing, contact Employes support.', retry: true };
    default:
      return { text: `Something went wrong while we read ${part}.`, advice: 'Retry; if it keeps failing, see the technical details.', retry: true };
  }
}

/** "Expires 28 Feb 2027" for an api_key_expiring issue whose company says when. */
export const expiryNote = (company) => (company && company.api_key_expires_at ? `The key expires ${fmtDate(company.api_key_expires_at)}.` : '');
