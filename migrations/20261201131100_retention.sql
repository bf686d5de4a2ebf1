-- Version 2: retention. Sessions, stages, errors, webhook deliveries, audit entries and
-- superseded versions older than RETENTION are deleted daily; changes are kept until erased, so
-- a change no longer needs its session row (the id stays, as a plain value).
ALTER TABLE changes DROP CONSTRAINT changes_session_id_fkey;

-- Each periodic maintenance job runs once per slot, on whichever replica claims it first.
CREATE TABLE maintenance_slots (
    job        text NOT NULL CHECK (job IN ('retention')),
    slot       timestamptz NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, slot)
);

CREATE INDEX sync_errors_occurred ON sync_errors (occurred_at);
CREATE INDEX employee_versions_superseded ON employee_versions (valid_to) WHERE valid_to IS NOT NULL;
CREATE INDEX employment_versions_superseded ON employment_versions (valid_to) WHERE valid_to IS NOT NULL;
