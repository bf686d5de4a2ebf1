-- Version 2: many companies in one deployment. Every session, stage, error, employee, version,
-- change, schedule slot and webhook delivery belongs to a company; deleting a company deletes
-- everything stored about it.
--
-- A first-version database holds one company's data and does not say which company that is:
-- `db::migrate` tells this migration through the session setting `employes_sync.v1_company`
-- (the first id of EMPLOYES_COMPANY_ID, or the simulator's company in the embedded default).
-- Nothing is re-recorded: change ids and dedup keys do not include the company.

CREATE TABLE companies (
    id                         uuid PRIMARY KEY,
    name                       text NOT NULL,
    simulated                  boolean NOT NULL DEFAULT false,
    from_env                   boolean NOT NULL DEFAULT false,
    -- NULL = EMPLOYES_RATE_LIMIT, SYNC_SCHEDULE, WATCH_INTERVAL, HISTORY_REFRESH_AFTER.
    rate_limit                 integer CHECK (rate_limit BETWEEN 1 AND 10000),
    schedule                   text,
    watch_interval_secs        integer CHECK (watch_interval_secs >= 0),
    history_refresh_after_secs integer CHECK (history_refresh_after_secs >= 0),
    chain_max_contracts        integer NOT NULL DEFAULT 3 CHECK (chain_max_contracts >= 1),
    chain_max_months           integer NOT NULL DEFAULT 36 CHECK (chain_max_months >= 1),
    chain_gap_months           integer NOT NULL DEFAULT 6 CHECK (chain_gap_months >= 0),
    -- XChaCha20-Poly1305 under SECRETS_KEY: nonce (24 bytes) ‖ ciphertext, AAD "<id>:<field>".
    api_key_enc                bytea,
    api_key_expires_at         timestamptz,
    webhook_secrets_enc        bytea,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);

-- The company a first-version database belongs to, registered before its rows are moved to it.
DO $$
DECLARE
    v1 text := nullif(trim(coalesce(current_setting('employes_sync.v1_company', true), '')), '');
BEGIN
    IF EXISTS (SELECT 1 FROM sync_sessions) OR EXISTS (SELECT 1 FROM employees)
       OR EXISTS (SELECT 1 FROM webhook_deliveries) OR EXISTS (SELECT 1 FROM schedule_slots) THEN
        IF v1 IS NULL THEN
            RAISE EXCEPTION 'EMPLOYES_COMPANY_ID: this database holds the data of one company from the first version; set EMPLOYES_COMPANY_ID to that company''s id so the upgrade can move the data to it';
        END IF;
        INSERT INTO companies (id, name, from_env) VALUES (v1::uuid, 'Company ' || left(v1, 8), true)
        ON CONFLICT (id) DO NOTHING;
    END IF;
END $$;

-- The v1 company id as a value the statements below can use (NULL on a fresh database).
CREATE FUNCTION pg_temp.v1_company() RETURNS uuid LANGUAGE sql STABLE AS
    $$ SELECT nullif(trim(coalesce(current_setting('employes_sync.v1_company', true), '')), '')::uuid $$;

ALTER TABLE sync_sessions ADD COLUMN company_id uuid REFERENCES companies (id) ON DELETE CASCADE;
UPDATE sync_sessions SET company_id = pg_temp.v1_company();
ALTER TABLE sync_sessions ALTER COLUMN company_id SET NOT NULL;
-- Idempotency keys are per company: `<company>:<caller>:<key>`.
UPDATE sync_sessions SET idempotency_key = company_id || ':' || idempotency_key WHERE idempotency_key IS NOT NULL;

-- One active full sync per company (was: one in the whole deployment).
DROP INDEX sync_sessions_one_active_full;
CREATE UNIQUE INDEX sync_sessions_one_active_full
    ON sync_sessions (company_id) WHERE scope = 'full' AND status IN ('queued', 'running');
CREATE INDEX sync_sessions_company_requested ON sync_sessions (company_id, requested_at DESC);

ALTER TABLE sync_stages ADD COLUMN company_id uuid REFERENCES companies (id) ON DELETE CASCADE;
UPDATE sync_stages SET company_id = pg_temp.v1_company();
ALTER TABLE sync_stages ALTER COLUMN company_id SET NOT NULL;

ALTER TABLE sync_errors ADD COLUMN company_id uuid REFERENCES companies (id) ON DELETE CASCADE;
UPDATE sync_errors SET company_id = pg_temp.v1_company();
ALTER TABLE sync_errors ALTER COLUMN company_id SET NOT NULL;
CREATE INDEX sync_errors_company ON sync_errors (company_id);

-- Each (company, slot) is claimed once across replicas.
ALTER TABLE schedule_slots ADD COLUMN company_id uuid REFERENCES companies (id) ON DELETE CASCADE;
UPDATE schedule_slots SET company_id = pg_temp.v1_company();
ALTER TABLE schedule_slots ALTER COLUMN company_id SET NOT NULL;
ALTER TABLE schedule_slots DROP CONSTRAINT schedule_slots_pkey;
ALTER TABLE schedule_slots ADD PRIMARY KEY (company_id, slot);

-- Employee ids are global UUIDs: the key stays the id, the company is a column.
ALTER TABLE employees ADD COLUMN company_id uuid REFERENCES companies (id) ON DELETE CASCADE;
UPDATE employees SET company_id = pg_temp.v1_company();
ALTER TABLE employees ALTER COLUMN company_id SET NOT NULL;
CREATE INDEX employees_company ON employees (company_id, id) WHERE removed_at IS NULL;

ALTER TABLE employee_versions ADD COLUMN company_id uuid REFERENCES companies (id) ON DELETE CASCADE;
UPDATE employee_versions SET company_id = pg_temp.v1_company();
ALTER TABLE employee_versions ALTER COLUMN company_id SET NOT NULL;

ALTER TABLE employment_versions ADD COLUMN company_id uuid REFERENCES companies (id) ON DELETE CASCADE;
UPDATE employment_versions SET company_id = pg_temp.v1_company();
ALTER TABLE employment_versions ALTER COLUMN company_id SET NOT NULL;

ALTER TABLE changes ADD COLUMN company_id uuid REFERENCES companies (id) ON DELETE CASCADE;
UPDATE changes SET company_id = pg_temp.v1_company();
ALTER TABLE changes ALTER COLUMN company_id SET NOT NULL;
CREATE INDEX changes_company_detected_at ON changes (company_id, detected_at DESC);

-- A rejected delivery may name no company.
ALTER TABLE webhook_deliveries ADD COLUMN company_id uuid REFERENCES companies (id) ON DELETE CASCADE;
UPDATE webhook_deliveries SET company_id = pg_temp.v1_company();

-- What is wrong with a company, in plain words: one ongoing issue per (company, kind); a repeat
-- updates it, the next success of that kind resolves it.
CREATE TABLE issues (
    id          uuid PRIMARY KEY,
    company_id  uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('auth_failed', 'api_unavailable', 'rate_limited', 'sync_failed',
                                              'api_key_expiring', 'endpoint_disabled')),
    status      text NOT NULL DEFAULT 'ongoing' CHECK (status IN ('ongoing', 'resolved')),
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    count       integer NOT NULL DEFAULT 1,
    message     text NOT NULL,
    resolved_at timestamptz
);
CREATE UNIQUE INDEX issues_one_ongoing ON issues (company_id, kind) WHERE status = 'ongoing';
CREATE INDEX issues_last_seen ON issues (last_seen DESC, id);
