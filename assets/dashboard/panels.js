/* The panels below the status card, reloaded together when a sync starts or ends. */

import { loadChanges } from './changes.js';
import { loadEmployees } from './employees.js';
import { loadSessions } from './sessions.js';
import { state } from './state.js';
import { loadStats } from './stats.js';

export function refreshData() {
  if (!state.token) return;
  loadChanges();
  loadEmployees();
  loadStats();
  loadSessions();
}
