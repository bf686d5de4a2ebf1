-- Version 2: the audit log. One row per audited action (a sync request by a person or a token,
-- a company or endpoint change, a replay, a milestone resolution, an erasure), written in the
-- same transaction as the action. No personal values: the actor is a sign-in name or a token's
-- name, the target an id. Entries have no foreign keys: they outlive the company or employee
-- they name, until RETENTION prunes them.
CREATE TABLE audit_entries (
    id         uuid PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor      text NOT NULL,
    role       text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    action     text NOT NULL CHECK (action IN ('sync_requested', 'company_created', 'company_updated',
                                               'company_deleted', 'endpoint_created', 'endpoint_updated',
                                               'endpoint_deleted', 'replay_requested', 'milestone_resolved',
                                               'employee_erased')),
    company_id uuid,
    target     text,
    request_id text
);
-- Newest first, keyset-paged by (at, id).
CREATE INDEX audit_entries_at ON audit_entries (at DESC, id DESC);
