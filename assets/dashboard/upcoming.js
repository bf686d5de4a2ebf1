/* The Upcoming page (#/upcoming): milestones due within 90 days that still ask for something
 * (GET /api/milestones?within=90d&open=true, by due date, 50 a page), coloured by urgency —
 * overdue, within 7 days, within 30 days — each explained in plain words; "Mark notice given"
 * (operators) resolves a notice with a note; "Export CSV" saves the same list. */

import { api } from './api.js';
import { exportCsv } from './csv.js';
import { $, el } from './dom.js';
import { employeeHref } from './employees.js';
import { fmtDate, plural } from './format.js';
import { MILESTONE_LABELS, explain, urgency, whenText } from './milestone-text.js';
import { state } from './state.js';
import { toast, reportError } from './toasts.js';

const PAGE = 50;
/** Whether the caller may resolve (operator or admin): hidden only when the role is known to be viewer. */
const canResolve = () => state.role !== 'viewer';
const QUERY = 'within=90d&open=true';
const URGENCY_WORDS = { overdue: 'Overdue', week: 'Within 7 days', month: 'Within 30 days', later: 'Within 90 days', resolved: 'Resolved' };

let cursor = null;
let seq = 0;
let shown = 0;
let wired = false;
const counts = { overdue: 0, week: 0, month: 0, later: 0 };

function summarize() {
  const parts = ['overdue', 'week', 'month'].filter((u) => counts[u]).map((u) => `${counts[u]} ${URGENCY_WORDS[u].toLowerCase()}`);
  $('#upcoming-summary').textContent = shown
    ? `${plural(shown, 'milestone')}${cursor ? ' shown (more below)' : ''}${parts.length ? `: ${parts.join(', ')}` : ''}.`
    : '';
}

/** The inline form of "Mark notice given": a note, then Confirm or Cancel. */
function resolveForm(m, item) {
  const noteId = `note-${m.id}`;
  const form = el('form', { class: 'resolve-form', novalidate: true },
    el('label', { for: noteId, text: 'How and when was the notice given?' }),
    el('textarea', { id: noteId, name: 'note', rows: '2', maxlength: '2000', required: true }),
    el('div', { class: 'resolve-actions' },
      el('button', { type: 'submit', class: 'btn btn-primary btn-small', text: 'Confirm notice given' }),
      el('button', { type: 'button', class: 'btn btn-ghost btn-small', text: 'Cancel', onclick: () => { form.remove(); $('.mark-given', item)?.focus(); } })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const note = form.elements.note.value.trim();
    const buttons = [...form.querySelectorAll('button')];
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const resolved = await api(`/api/milestones/${encodeURIComponent(m.id)}/resolve`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(note ? { note } : {}),
      });
      counts[urgency(m, m.today)] -= 1;
      item.replaceWith(renderMilestone({ ...resolved, today: m.today }));
      toast('success', `Notice marked as given for ${m.employee_name || 'the employee'}`);
      summarize();
    } catch (err) {
      buttons.forEach((b) => { b.disabled = false; });
      reportError('Could not mark the notice as given', err);
    }
  });
  return form;
}

function renderMilestone(m) {
  const level = urgency(m, m.today);
  const titleId = `milestone-${m.id}`;
  const item = el('li', { class: 'upcoming-item', dataset: { id: m.id, kind: m.kind, urgency: level } });
  const name = m.employee_name == null
    ? el('span', { class: 'upcoming-name', text: 'Unknown employee' })
    : el('a', { class: 'upcoming-name', href: employeeHref(m.employee_id), text: m.employee_name });
  item.append(
    el('div', { class: 'upcoming-head' },
      el('h3', { id: titleId, class: 'upcoming-kind', text: MILESTONE_LABELS[m.kind] || m.kind }),
      el('span', { class: 'urgency', dataset: { urgency: level } },
        level === 'resolved' ? 'Resolved' : `${whenText(m, m.today)} · ${fmtDate(m.due_date)}`)),
    name,
    el('p', { class: 'upcoming-text', text: explain(m) }));
  if (level === 'resolved') {
    item.append(el('p', { class: 'upcoming-resolved', text: `Notice given${m.note ? `: ${m.note}` : ''}` }));
  } else if (m.kind === 'notice_due' && canResolve()) {
    const button = el('button', { type: 'button', class: 'btn btn-secondary btn-small mark-given', text: 'Mark notice given',
      'aria-describedby': titleId });
    button.addEventListener('click', () => {
      if (!$('.resolve-form', item)) item.append(resolveForm(m, item));
      $('.resolve-form textarea', item).focus();
    });
    item.append(button);
  }
  return item;
}

async function load(more) {
  if (more && !cursor) return;
  const mine = ++seq;
  const q = new URLSearchParams(QUERY);
  q.set('limit', String(PAGE));
  if (more) q.set('cursor', cursor);
  try {
    const page = await api(`/api/milestones?${q}`);
    if (mine !== seq) return;
    if (!more) { shown = 0; Object.keys(counts).forEach((k) => { counts[k] = 0; }); }
    const items = page.milestones.map((m) => {
      counts[urgency(m, page.today)] += 1;
      return renderMilestone({ ...m, today: page.today });
    });
    if (more) $('#upcoming-list').append(...items);
    else $('#upcoming-list').replaceChildren(...items);
    shown += items.length;
    cursor = page.next_cursor;
    $('#upcoming-more').hidden = !cursor;
    $('#upcoming-empty').hidden = shown > 0;
    $('#upcoming-today').textContent = `As of ${fmtDate(page.today)}.`;
    summarize();
  } catch (err) {
    reportError('Could not load the upcoming milestones', err);
  }
}

/** The page, for the router (main.js registers it). */
export const upcomingPage = {
  name: 'upcoming',
  pattern: /^\/upcoming$/,
  element: '#upcoming-page',
  title: 'Upcoming',
  nav: 'Upcoming',
  navPath: '/upcoming',
  show() {
    if (!wired) {
      wired = true;
      $('#upcoming-more').addEventListener('click', () => load(true));
      $('#upcoming-export').addEventListener('click', (event) => exportCsv(`/api/milestones?${QUERY}`, 'upcoming-milestones.csv', event.currentTarget));
    }
    load(false);
  },
};
