-- A session's changes stage looks for failed sessions of its company whose stored versions no
-- changes stage diffed (`db::sessions::undiffed_failed`). Through the company's index of every
-- session that read each earlier session of the company: a company watched every 10 s has
-- ~8,640 sessions a day, so each watch read them all. Failed, undiffed sessions are few.
CREATE INDEX sync_sessions_undiffed_failed ON sync_sessions (company_id, requested_at)
    WHERE status = 'failed' AND diffed_by IS NULL;
