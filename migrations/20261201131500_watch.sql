-- Version 2, watching: sessions of source `watch` (an incremental full sync every
-- watch_interval), and one claim row per company for its watch slots.

ALTER TABLE sync_sessions DROP CONSTRAINT sync_sessions_source_check;
ALTER TABLE sync_sessions ADD CONSTRAINT sync_sessions_source_check
    CHECK (source IN ('manual', 'scheduler', 'api', 'webhook', 'watch'));

-- The latest watch slot each company claimed. A replica claims a slot by moving it forward; the
-- one whose update took it requests the watch, so each slot of each company makes one watch
-- across replicas. One row per company (a watch every few seconds would otherwise add a row per
-- slot, the way schedule_slots does per cron slot).
CREATE TABLE watch_slots (
    company_id uuid PRIMARY KEY REFERENCES companies (id) ON DELETE CASCADE,
    slot       timestamptz NOT NULL,
    session_id uuid REFERENCES sync_sessions (id) ON DELETE SET NULL,
    claimed_at timestamptz NOT NULL DEFAULT now()
);

-- A quiet watch: it completed, recorded no change, met no error and stored no version. Kept
-- 24 h, hidden from the session history unless asked for.
CREATE FUNCTION sync_session_is_quiet(s sync_sessions) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT s.source = 'watch' AND s.status = 'completed' AND s.changes_detected = 0 AND s.errors_count = 0
       AND NOT EXISTS (SELECT 1 FROM employee_versions v WHERE v.session_id = s.id)
       AND NOT EXISTS (SELECT 1 FROM employment_versions v WHERE v.session_id = s.id)
       AND NOT EXISTS (SELECT 1 FROM employees e WHERE e.removed_session = s.id)
       AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.session_id = s.id)
$$;
CREATE INDEX sync_sessions_watch_completed ON sync_sessions (completed_at) WHERE source = 'watch';

-- Requests made to Employes, per company and minute (every replica adds what it made), for the
-- share of each key's daily budget (rate_limit × 86,400) used in the last 24 h.
CREATE TABLE employes_requests (
    company_id uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    minute     timestamptz NOT NULL,
    requests   bigint NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (company_id, minute)
);
CREATE INDEX employes_requests_minute ON employes_requests (minute);
