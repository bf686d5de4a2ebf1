-- Milestones (README, "Milestones"): what is about to happen in an employee's contracts.
-- One row per (company, employee, kind, contract start or change id): `id` is a UUID v5 of that
-- key (`MilestoneKey::id`), and the two unique indexes below hold the key itself, so
-- re-evaluating never stores a milestone twice. The status (upcoming/due/overdue/resolved) is
-- not stored: it follows from due_date, resolution and today (in TIMEZONE) whenever it is read.

CREATE TABLE milestones (
    id             uuid PRIMARY KEY,
    company_id     uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    employee_id    uuid NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('contract_ending', 'notice_due', 'chain_limit', 'chain_exceeded',
                                                 'change_effective')),
    -- The anchor: the contract's start (for chain_exceeded the chain's first), or the change.
    contract_start date,
    change_id      uuid,
    due_date       date NOT NULL,
    -- `{"start_date","end_date","contract_duration"}` or NULL, and the kind's `details`.
    contract       jsonb,
    details        jsonb NOT NULL,
    resolution     text CHECK (resolution IN ('superseded', 'acknowledged', 'terminated')),
    note           text CHECK (length(note) <= 2000),
    resolved_at    timestamptz,
    -- Who acknowledged it (`triggered_by` of the request); NULL when the service resolved it.
    resolved_by    text,
    -- Which events were published or passed over (`domain::milestones::Published`).
    published      jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((contract_start IS NULL) <> (change_id IS NULL)),
    CHECK ((change_id IS NOT NULL) = (kind = 'change_effective')),
    CHECK ((resolution IS NULL) = (resolved_at IS NULL))
);
CREATE UNIQUE INDEX milestones_contract_key ON milestones (company_id, employee_id, kind, contract_start)
    WHERE contract_start IS NOT NULL;
CREATE UNIQUE INDEX milestones_change_key ON milestones (company_id, employee_id, change_id)
    WHERE change_id IS NOT NULL;
CREATE INDEX milestones_company_due ON milestones (company_id, due_date, id);
CREATE INDEX milestones_due ON milestones (due_date, id);
CREATE INDEX milestones_employee ON milestones (employee_id);

-- The milestone events outbox: written in the transaction that evaluates the milestone, published
-- with Nats-Msg-Id = id, then marked. One per (milestone, reason, days_before, due date): `id` is
-- a UUID v5 of those (`Event::id`), and the unique index holds them too.
CREATE TABLE milestone_events (
    id           uuid PRIMARY KEY,
    milestone_id uuid NOT NULL REFERENCES milestones (id) ON DELETE CASCADE,
    company_id   uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    employee_id  uuid NOT NULL,
    kind         text NOT NULL,
    reason       text NOT NULL CHECK (reason IN ('detected', 'reminder', 'due', 'overdue', 'resolved')),
    days_before  integer CHECK ((days_before IS NOT NULL) = (reason = 'reminder')),
    due_date     date NOT NULL,
    -- The milestone as it was when the event was recorded (the event's `data` without `reason`).
    milestone    jsonb NOT NULL,
    -- Recorded during a company's first sync.
    baseline     boolean NOT NULL DEFAULT false,
    -- The order events are published in (an employee's events in the order they were recorded).
    position     bigint GENERATED ALWAYS AS IDENTITY,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE UNIQUE INDEX milestone_events_once
    ON milestone_events (milestone_id, reason, coalesce(days_before, 0), due_date);
CREATE INDEX milestone_events_unpublished ON milestone_events (position) WHERE published_at IS NULL;

-- The daily evaluation of each company: claimed once per (company, day) across replicas, like
-- schedule slots; a claim whose replica died before completing it is taken over.
CREATE TABLE milestone_days (
    company_id   uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    day          date NOT NULL,
    claimed_by   text NOT NULL,
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (company_id, day)
);
