/* The live progress panel: one bar per stage of the session being followed. */

import { $ } from './dom.js';
import { fmtCount, statusLabel } from './format.js';

const STAGES = ['snapshot', 'history', 'changes'];

export function resetProgress() {
  $('#progress').hidden = false;
  for (const stage of STAGES) updateStage({ stage, status: 'pending', processed: 0, total: 0 });
}

/** Shows one progress event (or stage row): { stage, status, processed, total }. */
export function updateStage(ev) {
  const item = $(`#progress [data-stage="${ev.stage}"]`);
  if (!item) return;
  const processed = Number(ev.processed) || 0;
  const total = Number(ev.total) || 0;
  const bar = $('progress', item);
  item.dataset.status = ev.status || 'pending';
  $('.stage-status', item).textContent = statusLabel(ev.status || 'pending');
  $('.count', item).textContent = `${fmtCount(processed)} / ${fmtCount(total)}`;
  if (total > 0) {
    bar.max = total;
    bar.value = Math.min(processed, total);
  } else if (ev.status === 'running') {
    bar.removeAttribute('value'); // indeterminate until the total is known
  } else {
    bar.max = 1;
    bar.value = ev.status === 'completed' || ev.status === 'completed_with_errors' ? 1 : 0;
  }
}
