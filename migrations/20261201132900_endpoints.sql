-- Outbound webhooks (contract v2, "Subscribers over HTTP"): registered endpoints and the log of
-- their delivery attempts. Delivery state itself lives in JetStream (one durable consumer per
-- endpoint and stream); these rows are what the API shows and what survives a stream's age limit.
CREATE TABLE endpoints (
    id                    uuid PRIMARY KEY,
    url                   text NOT NULL,
    -- NULL = every company's events.
    company_id            uuid REFERENCES companies (id) ON DELETE CASCADE,
    -- NULL = every type; else change types, `employee_erased`, `milestone.<kind>`.
    types                 text[],
    description           text,
    enabled               boolean NOT NULL DEFAULT true,
    disabled_reason       text,
    -- XChaCha20-Poly1305 under SECRETS_KEY (AAD "<endpoint id>:endpoint_secret"), as companies' secrets.
    secret_enc            bytea NOT NULL,
    -- After a rotation the old secret keeps signing (a second signature) until previous_until.
    previous_secret_enc   bytea,
    previous_until        timestamptz,
    -- The first failed attempt since the last success (auto-disable after ENDPOINT_DISABLE_AFTER).
    failing_since         timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (enabled = (disabled_reason IS NULL)),
    CHECK ((previous_secret_enc IS NULL) = (previous_until IS NULL))
);
CREATE INDEX endpoints_company ON endpoints (company_id);

CREATE TABLE endpoint_attempts (
    id              bigserial PRIMARY KEY,
    endpoint_id     uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    attempt         integer NOT NULL CHECK (attempt >= 1),
    -- pending = failed, retried at next_attempt_at; failed = no retry left (or the endpoint went).
    status          text NOT NULL CHECK (status IN ('succeeded', 'failed', 'pending')),
    response_status integer,
    error           text,
    at              timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz,
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
CREATE INDEX endpoint_attempts_endpoint ON endpoint_attempts (endpoint_id, id DESC);
CREATE INDEX endpoint_attempts_at ON endpoint_attempts (at);
