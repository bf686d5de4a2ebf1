-- Version 2: data minimisation. Employee versions keep only the fields the service shows; every
-- other field becomes a keyed digest (see src/domain/minimise.rs). SQL cannot compute those
-- digests (the key lives with the application, sealed under SECRETS_KEY), so the rewrite of the
-- rows stored before is a data migration in Rust (src/privacy/upgrade.rs), run by db::migrate
-- right after these statements: in batches, each committed with its rows, so an interrupted
-- start resumes where it stopped; rows already minimised are never digested again.

-- The one digest key: 32 random bytes made once, sealed under SECRETS_KEY (XChaCha20-Poly1305,
-- nonce ‖ ciphertext), or kept plain while SECRETS_KEY is unset (and sealed once it is set).
CREATE TABLE digest_key (
    id         smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    sealed     bytea,
    plain      bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((sealed IS NULL) <> (plain IS NULL))
);

-- Whether a version row holds the minimised record. Rows written before this migration (and by
-- an older replica during a rolling upgrade) are false until the data migration rewrites them.
ALTER TABLE employee_versions ADD COLUMN minimised boolean NOT NULL DEFAULT false;
CREATE INDEX employee_versions_not_minimised ON employee_versions (employee_id, version) WHERE NOT minimised;

-- Data migrations run by the application: when each last found nothing left to do.
CREATE TABLE data_migrations (
    name       text PRIMARY KEY,
    rows_done  bigint NOT NULL DEFAULT 0,
    done_at    timestamptz
);
