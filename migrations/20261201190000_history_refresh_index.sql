-- The rolling history refresh reads a share in proportion to the time since the company's
-- previous history stage (db::employees::since_last_refresh): find that stage by company.
CREATE INDEX sync_stages_company_history ON sync_stages (company_id, started_at DESC) WHERE stage = 'history';
