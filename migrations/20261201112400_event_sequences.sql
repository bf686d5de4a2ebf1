-- Version 2 CloudEvents: a per-employee sequence and the baseline flag on every change.
--
-- `event_sequences` holds each (company, employee, stream)'s last number. It has no foreign key
-- on purpose: erasing an employee or deleting a company keeps the counter, so a number is never
-- handed out twice. Sequences are assigned in the transaction that records the event.
CREATE TABLE event_sequences (
    company_id    uuid NOT NULL,
    employee_id   uuid NOT NULL,
    stream        text NOT NULL CHECK (stream IN ('changes', 'milestones')),
    last_sequence bigint NOT NULL CHECK (last_sequence >= 1),
    PRIMARY KEY (company_id, employee_id, stream)
);

-- `baseline`: recorded by a session that started before the company's first full sync completed
-- (the first sync records past transitions). `sequence`: set in the recording transaction.
ALTER TABLE changes ADD COLUMN baseline boolean NOT NULL DEFAULT false;
ALTER TABLE changes ADD COLUMN sequence bigint CHECK (sequence >= 1);

-- Changes recorded before this version are backfilled the same way: baseline by the same rule,
-- sequences per employee in the order they were detected (then by key). Their events were
-- published without these attributes and are not published again; new changes continue the count.
UPDATE changes c SET baseline = NOT EXISTS (
    SELECT 1 FROM sync_sessions s JOIN sync_sessions f ON f.company_id = s.company_id
    WHERE s.id = c.session_id AND f.id <> s.id AND f.scope = 'full'
      AND f.status IN ('completed', 'completed_with_errors') AND f.requested_at < s.requested_at
);
WITH numbered AS (
    SELECT id, row_number() OVER (PARTITION BY company_id, employee_id ORDER BY detected_at, effective_date, dedup_key) AS n
    FROM changes
)
UPDATE changes c SET sequence = numbered.n FROM numbered WHERE numbered.id = c.id;
INSERT INTO event_sequences (company_id, employee_id, stream, last_sequence)
SELECT company_id, employee_id, 'changes', max(sequence) FROM changes GROUP BY company_id, employee_id;

CREATE UNIQUE INDEX changes_employee_sequence ON changes (company_id, employee_id, sequence);
