-- When each employee's employments were last fetched: a full sync skips employees whose record
-- did not change and whose history is fresher than HISTORY_REFRESH_AFTER.
ALTER TABLE employees ADD COLUMN history_fetched_at timestamptz;
