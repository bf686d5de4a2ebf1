/* The service's JSON API, with the signed-in token. */

import { state } from './state.js';

export class AuthError extends Error {}
export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

let onUnauthorized = () => {};

/** What a 401 answer does besides throwing AuthError (main.js: back to the sign-in form). */
export function setUnauthorizedHandler(handler) { onUnauthorized = handler; }

/** fetch() with the bearer token: the parsed JSON, or the Response with `raw: true`.
 *  Throws AuthError on 401 and ApiError (with the service's error code and message) on other failures. */
export async function api(path, options = {}) {
  const headers = { Accept: 'application/json', Authorization: `Bearer ${state.token}`, ...(options.headers || {}) };
  const res = await fetch(path, { ...options, headers });
  if (res.status === 401) { onUnauthorized(); throw new AuthError('unauthorized'); }
  if (!res.ok) {
    let body = {};
    try { body = await res.json(); } catch (_) { /* not JSON */ }
    throw new ApiError(res.status, body.error || 'http_error', body.message || `Request failed (HTTP ${res.status})`);
  }
  return options.raw ? res : res.json();
}
