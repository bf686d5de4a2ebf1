/* The page's shared state: one object the modules read and update. */

export const PAGE_SIZE = 10; // changes per "Show more", sessions in the history

export const state = {
  token: null,
  pollTimer: null,
  statusSeq: 0,         // numbers status requests, so a late answer cannot overwrite a newer one
  lastStatus: null,
  lastSignature: null,  // "<session id>:<status>" of the last status: a change reloads the panels
  starting: false,      // a POST /api/sync is in flight
  followed: new Map(),  // session id → AbortController of its event stream, for each session followed
  finished: new Set(),  // session ids already reported with a toast
  changesLimit: PAGE_SIZE,
  detailId: null,       // session shown in the detail panel
  offline: false,       // the last status request failed
  openIssues: [],       // the company's ongoing issues, as of the last status
};
