-- employes-sync schema. Forward-only: never edit a migration once it has landed.

-- One row per sync session, whatever triggered it.
CREATE TABLE sync_sessions (
    id                  uuid PRIMARY KEY,
    source              text NOT NULL CHECK (source IN ('manual', 'scheduler', 'api', 'webhook')),
    triggered_by        text NOT NULL,
    scope               text NOT NULL CHECK (scope IN ('full', 'employees')),
    employee_ids        uuid[],
    status              text NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'running', 'completed', 'completed_with_errors', 'failed')),
    requested_at        timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    completed_at        timestamptz,
    employees_processed integer NOT NULL DEFAULT 0,
    history_collected   integer NOT NULL DEFAULT 0,
    changes_detected    integer NOT NULL DEFAULT 0,
    errors_count        integer NOT NULL DEFAULT 0,
    failure_reason      text,
    idempotency_key     text UNIQUE,
    request_id          text NOT NULL,
    schedule_slot       timestamptz,
    worker_id           text,
    heartbeat_at        timestamptz,
    attempts            integer NOT NULL DEFAULT 0,
    CHECK ((scope = 'full') = (employee_ids IS NULL))
);

-- At most one full sync is queued or running at any time, across all replicas.
CREATE UNIQUE INDEX sync_sessions_one_active_full
    ON sync_sessions ((true)) WHERE scope = 'full' AND status IN ('queued', 'running');
CREATE INDEX sync_sessions_requested_at ON sync_sessions (requested_at DESC);
CREATE INDEX sync_sessions_active ON sync_sessions (status) WHERE status IN ('queued', 'running');

CREATE TABLE sync_stages (
    session_id   uuid NOT NULL REFERENCES sync_sessions (id) ON DELETE CASCADE,
    stage        text NOT NULL CHECK (stage IN ('snapshot', 'history', 'changes')),
    position     smallint NOT NULL,
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'running', 'completed', 'completed_with_errors', 'failed')),
    processed    integer NOT NULL DEFAULT 0,
    total        integer NOT NULL DEFAULT 0,
    started_at   timestamptz,
    completed_at timestamptz,
    PRIMARY KEY (session_id, stage)
);

CREATE TABLE sync_errors (
    id          bigserial PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sync_sessions (id) ON DELETE CASCADE,
    stage       text NOT NULL,
    employee_id uuid,
    code        text NOT NULL,
    message     text NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_errors_session ON sync_errors (session_id);

-- Each schedule slot is claimed once, whichever replica gets there first.
CREATE TABLE schedule_slots (
    slot       timestamptz PRIMARY KEY,
    session_id uuid REFERENCES sync_sessions (id) ON DELETE SET NULL,
    claimed_at timestamptz NOT NULL DEFAULT now()
);

-- The current state of each employee, plus pointers to its latest versions.
CREATE TABLE employees (
    id                 uuid PRIMARY KEY,
    display_name       text NOT NULL,
    status             text,
    snapshot_hash      bytea NOT NULL,
    snapshot_version   integer NOT NULL,
    history_hash       bytea,
    history_version    integer NOT NULL DEFAULT 0,
    has_history        boolean NOT NULL DEFAULT false,
    dt_update          text,
    first_seen_session uuid NOT NULL,
    removed_at         timestamptz,
    removed_session    uuid,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Employee records, versioned by content hash: a new row only when the content changed.
CREATE TABLE employee_versions (
    employee_id  uuid NOT NULL REFERENCES employees (id),
    version      integer NOT NULL,
    content_hash bytea NOT NULL,
    data         jsonb NOT NULL,
    session_id   uuid NOT NULL,
    valid_from   timestamptz NOT NULL DEFAULT now(),
    valid_to     timestamptz,
    PRIMARY KEY (employee_id, version)
);
CREATE INDEX employee_versions_session ON employee_versions (session_id);

-- Employment history (the /employments payload), versioned the same way.
CREATE TABLE employment_versions (
    employee_id  uuid NOT NULL REFERENCES employees (id),
    version      integer NOT NULL,
    content_hash bytea NOT NULL,
    data         jsonb NOT NULL,
    session_id   uuid NOT NULL,
    valid_from   timestamptz NOT NULL DEFAULT now(),
    valid_to     timestamptz,
    PRIMARY KEY (employee_id, version)
);
CREATE INDEX employment_versions_session ON employment_versions (session_id);

-- Detected changes. `dedup_key` identifies (employee, type, field, effective date, old, new):
-- a change is recorded once by construction. `published_at` is the outbox marker.
CREATE TABLE changes (
    id              uuid PRIMARY KEY,
    dedup_key       text NOT NULL UNIQUE,
    employee_id     uuid NOT NULL,
    change_type     text NOT NULL CHECK (change_type IN ('salary_change', 'hours_change', 'contract_change',
                        'employee_added', 'employee_removed', 'status_change', 'personal_data_change')),
    field           text,
    old_value       text,
    new_value       text,
    effective_date  date,
    detected_at     timestamptz NOT NULL DEFAULT now(),
    session_id      uuid NOT NULL REFERENCES sync_sessions (id),
    business_impact text,
    change_amount   double precision,
    change_percent  double precision,
    published_at    timestamptz
);
CREATE INDEX changes_detected_at ON changes (detected_at DESC);
CREATE INDEX changes_employee ON changes (employee_id);
CREATE INDEX changes_session ON changes (session_id);
CREATE INDEX changes_unpublished ON changes (detected_at) WHERE published_at IS NULL;

-- Every webhook delivery, accepted or not, without its body.
CREATE TABLE webhook_deliveries (
    id          bigserial PRIMARY KEY,
    webhook_id  text,
    event_type  text,
    employee_id uuid,
    outcome     text NOT NULL CHECK (outcome IN ('accepted', 'ignored', 'duplicate', 'rejected')),
    reason      text,
    session_id  uuid,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (webhook_id) WHERE outcome IN ('accepted', 'ignored');
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at DESC);
