/* "Export CSV": a list's `?format=csv` answer (streamed by the service, the same filters as the
 * page shows), fetched with the signed-in token and saved as a file. A plain link cannot carry
 * the bearer token, so the file is fetched here and handed to the browser as a download. */

import { api } from './api.js';
import { toast, reportError } from './toasts.js';

/** Downloads `path` (a list route with its filters; `format=csv` is added) as `filename`.
 *  The button is disabled while the file is fetched. */
export async function exportCsv(path, filename, button) {
  const url = new URL(path, location.origin);
  url.searchParams.set('format', 'csv');
  url.searchParams.delete('cursor');
  url.searchParams.delete('limit');
  if (button) { button.disabled = true; button.setAttribute('aria-busy', 'true'); }
  try {
    const res = await api(url.pathname + url.search, { raw: true, headers: { Accept: 'text/csv' } });
    const blob = await res.blob();
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = filename;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    toast('success', `Exported ${filename}`);
  } catch (err) {
    reportError('Could not export the CSV file', err);
  } finally {
    if (button) { button.disabled = false; button.removeAttribute('aria-busy'); }
  }
}
