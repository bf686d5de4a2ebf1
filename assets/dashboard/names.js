/* Employee names for ids (errors carry only the id): GET /api/employees/{id}, remembered for
 * the page's life; an employee no longer stored maps to null. */

import { api } from './api.js';

const cache = new Map();

/** Map id → name (or null) for these ids; asks for at most 25 unknown ones at a time. */
export async function employeeNames(ids) {
  const wanted = [...new Set(ids.filter(Boolean))].filter((id) => !cache.has(id)).slice(0, 25);
  await Promise.all(wanted.map(async (id) => {
    try { cache.set(id, (await api(`/api/employees/${encodeURIComponent(id)}`)).name); } catch (_) { cache.set(id, null); }
  }));
  return new Map(ids.filter(Boolean).map((id) => [id, cache.get(id) || null]));
}
