-- Milestone events get the v2 CloudEvents `sequence`: per (company, employee) on the milestones
-- stream, from `event_sequences` (stream 'milestones'), taken in the transaction that records
-- the event. Events recorded before this version are numbered per employee in the order they
-- were recorded; the counters continue from there.
ALTER TABLE milestone_events ADD COLUMN sequence bigint CHECK (sequence >= 1);

WITH numbered AS (
    SELECT id, row_number() OVER (PARTITION BY company_id, employee_id ORDER BY position) AS n
    FROM milestone_events
)
UPDATE milestone_events e SET sequence = numbered.n FROM numbered WHERE numbered.id = e.id;

INSERT INTO event_sequences (company_id, employee_id, stream, last_sequence)
SELECT company_id, employee_id, 'milestones', max(sequence) FROM milestone_events GROUP BY company_id, employee_id
ON CONFLICT (company_id, employee_id, stream)
DO UPDATE SET last_sequence = greatest(event_sequences.last_sequence, EXCLUDED.last_sequence);

ALTER TABLE milestone_events ALTER COLUMN sequence SET NOT NULL;
CREATE UNIQUE INDEX milestone_events_employee_sequence ON milestone_events (company_id, employee_id, sequence);
