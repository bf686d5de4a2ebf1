/* The Endpoints page (#/endpoints, admins): the systems that receive changes and milestones as
 * signed webhooks. "Add an endpoint" shows its signing secret once; each endpoint lists its
 * delivery attempts (newest first, paged) and can "Replay" every event since a moment. */

import { api } from './api.js';
import { companyList, companyName } from './company.js';
import { $, el } from './dom.js';
import { capitalize, fmtDateTime, plural } from './format.js';
import { reportError, toast } from './toasts.js';

const ATTEMPTS = 20;
let shown = null;      // endpoint whose attempts are listed
let attemptsCursor = null;

export const endpointsPage = {
  name: 'endpoints',
  pattern: /^\/endpoints$/,
  element: '#endpoints-page',
  title: 'Endpoints',
  nav: 'Endpoints',
  navPath: '/endpoints',
  role: 'admin',
  show() {
    $('#ep-company').replaceChildren(el('option', { value: '', text: 'Every company' }),
      ...companyList().map((c) => el('option', { value: c.id, text: c.name })));
    loadEndpoints();
  },
  hide() { shown = null; $('#endpoint-detail').hidden = true; $('#endpoint-add-result').hidden = true; },
};

async function loadEndpoints() {
  try {
    const { endpoints } = await api('/api/endpoints?limit=500');
    $('#endpoint-list').replaceChildren(...endpoints.map(endpointItem));
    $('#endpoints-empty').hidden = endpoints.length > 0;
  } catch (err) {
    reportError('Could not load the endpoints', err);
  }
}

function endpointItem(e) {
  const scope = e.company_id ? companyName(e.company_id) : 'Every company';
  const types = e.types ? e.types.join(', ') : 'every event';
  return el('li', { class: 'endpoint', dataset: { id: e.id, enabled: String(e.enabled) } },
    el('div', { class: 'endpoint-head' },
      el('strong', { class: 'endpoint-url', text: e.url }),
      el('span', { class: 'pill', dataset: { status: e.enabled ? 'completed' : 'failed' }, text: e.enabled ? 'Enabled' : 'Disabled' })),
    el('p', { class: 'hint', text: `${scope} · ${types}${e.description ? ` · ${e.description}` : ''}` }),
    e.disabled_reason ? el('p', { class: 'issue-advice', text: `Disabled: ${e.disabled_reason}` }) : null,
    el('div', { class: 'row-actions' },
      el('button', { type: 'button', class: 'btn btn-secondary btn-small', 'aria-controls': 'endpoint-detail',
        'aria-label': `Attempts of ${e.url}`, onclick: () => showAttempts(e) }, 'Attempts')));
}

async function showAttempts(e, more = false) {
  shown = e;
  const panel = $('#endpoint-detail');
  try {
    const params = new URLSearchParams({ limit: String(ATTEMPTS) });
    if (more && attemptsCursor) params.set('cursor', attemptsCursor);
    const page = await api(`/api/endpoints/${encodeURIComponent(e.id)}/attempts?${params}`);
    if (shown !== e) return;
    attemptsCursor = page.next_cursor;
    const rows = page.attempts.map((a) => el('tr', { dataset: { status: a.status } },
      el('td', { 'data-label': 'At', text: fmtDateTime(a.at) }),
      el('td', { 'data-label': 'Event', text: a.event_type }),
      el('td', { 'data-label': 'Attempt', class: 'num', text: String(a.attempt) }),
      el('td', { 'data-label': 'Result' }, el('span', { class: 'pill', dataset: { status: a.status === 'succeeded' ? 'completed' : a.status === 'failed' ? 'failed' : 'queued' }, text: capitalize(a.status) })),
      el('td', { 'data-label': 'Answer', text: a.response_status ? `HTTP ${a.response_status}` : (a.error || '—') }),
      el('td', { 'data-label': 'Next try', text: a.next_attempt_at ? fmtDateTime(a.next_attempt_at) : '—' })));
    if (more) { $('#attempt-rows').append(...rows); $('#attempts-more').hidden = !attemptsCursor; return; }
    const since = el('input', { id: 'replay-since', name: 'since', type: 'datetime-local', required: true });
    const replay = el('form', { id: 'replay-form', class: 'form-inline', novalidate: true },
      el('div', { class: 'field' }, el('label', { for: 'replay-since', text: 'Replay every event since' }), since),
      el('button', { type: 'submit', class: 'btn btn-primary btn-small', text: 'Replay' }));
    replay.addEventListener('submit', (event) => { event.preventDefault(); doReplay(e, since.value); });
    const head = el('tr', {}, ['At', 'Event', 'Attempt', 'Result', 'Answer', 'Next try'].map((h) => el('th', { scope: 'col', text: h })));
    panel.replaceChildren(
      el('div', { class: 'card-head' }, el('h3', { text: `Deliveries to ${e.url}` }),
        el('button', { type: 'button', class: 'btn btn-ghost btn-small', text: 'Close', onclick: () => { panel.hidden = true; shown = null; } })),
      page.attempts.length
        ? el('div', { class: 'table-wrap' }, el('table', { class: 'sessions-table attempts-table' }, el('thead', {}, head), el('tbody', { id: 'attempt-rows' }, rows)))
        : el('p', { class: 'empty', text: 'No delivery attempts yet.' }),
      el('button', { type: 'button', id: 'attempts-more', class: 'btn btn-secondary btn-small', hidden: !attemptsCursor, text: 'Show more',
        onclick: () => showAttempts(e, true) }),
      replay,
      el('p', { id: 'replay-result', class: 'form-result', role: 'status', hidden: true }));
    panel.hidden = false;
    panel.focus();
  } catch (err) {
    reportError('Could not load the attempts', err);
  }
}

async function doReplay(e, local) {
  const since = local ? new Date(local) : null;
  const result = $('#replay-result');
  if (!since || isNaN(since)) { result.hidden = false; result.textContent = 'Pick the moment to replay from.'; return; }
  try {
    const r = await api(`/api/endpoints/${encodeURIComponent(e.id)}/replay`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ since: since.toISOString() }) });
    result.hidden = false;
    result.dataset.kind = 'ok';
    result.textContent = `${plural(r.queued, 'event')} queued for delivery again.`;
  } catch (err) {
    result.hidden = false;
    result.dataset.kind = 'error';
    result.textContent = `Could not replay: ${err.message}`;
  }
}

async function add(event) {
  event.preventDefault();
  const form = event.target;
  const body = { url: $('#ep-url').value.trim() };
  if ($('#ep-company').value) body.company_id = $('#ep-company').value;
  const types = $('#ep-types').value.split(',').map((t) => t.trim()).filter(Boolean);
  if (types.length) body.types = types;
  if ($('#ep-description').value.trim()) body.description = $('#ep-description').value.trim();
  const result = $('#endpoint-add-result');
  try {
    const created = await api('/api/endpoints', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    form.reset();
    result.hidden = false;
    result.dataset.kind = 'ok';
    result.replaceChildren('Endpoint added. Its signing secret is shown only now — store it in the receiving system: ',
      el('code', { id: 'endpoint-secret', class: 'secret', text: created.secret }));
    toast('success', 'Endpoint added');
    loadEndpoints();
  } catch (err) {
    result.hidden = false;
    result.dataset.kind = 'error';
    result.textContent = `Could not add the endpoint: ${err.message}`;
  }
}

export function initEndpointsPage() {
  $('#endpoint-add').addEventListener('submit', add);
}
