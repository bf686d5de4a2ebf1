-- When each employee's employments were last fetched: a full sync skips employees whose record
-- did not change and whose history is fresher than HISTORY_REFRESH_AFTER.
ALTER TABLE employees ADD COLUMN history_fetched_at timestamptz;

-- A failed session may have stored new versions it never diffed; the next session's changes stage
-- diffs them too and records its own id here.
ALTER TABLE sync_sessions ADD COLUMN diffed_by uuid;
