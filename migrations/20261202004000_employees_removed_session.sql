-- The employees a session removed (`removed_session = $1` / `= ANY($1)`: the session's touched
-- employees, its diffs and their count, and `sync_session_is_quiet`) were found by a sequential
-- scan of every company's employees, three times per session (issue 16: 626 scans reading
-- 4.7M rows for 200 companies of 50). Few rows are ever removed, so the index is partial.
CREATE INDEX employees_removed_session ON employees (removed_session) WHERE removed_session IS NOT NULL;
