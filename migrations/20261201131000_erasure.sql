-- Version 2: erasure. An erased employee leaves only a tombstone: their id, company and when.
-- Later syncs do not store them again unless Employes lists them as active (the tombstone then
-- goes). The tombstone is also the outbox of the `employee_erased` event: `event_id` is its
-- CloudEvent id (and Nats-Msg-Id), `sequence` its number in the employee's changes stream (taken
-- in the erasure's transaction), `published_at` set once it is on the stream.
CREATE TABLE erased_employees (
    employee_id  uuid PRIMARY KEY,
    company_id   uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    erased_at    timestamptz NOT NULL DEFAULT now(),
    event_id     uuid NOT NULL UNIQUE,
    sequence     bigint NOT NULL,
    published_at timestamptz
);
CREATE INDEX erased_employees_unpublished ON erased_employees (erased_at) WHERE published_at IS NULL;
