-- The endpoint management API's audit actions: a secret rotation and a replay are recorded as
-- `endpoint_secret_rotated` and `endpoint_replayed` (`replay_requested`, never written, stays
-- allowed so the list only grows).
ALTER TABLE audit_entries DROP CONSTRAINT audit_entries_action_check;
ALTER TABLE audit_entries ADD CONSTRAINT audit_entries_action_check
    CHECK (action IN ('sync_requested', 'company_created', 'company_updated', 'company_deleted',
                      'endpoint_created', 'endpoint_updated', 'endpoint_deleted', 'endpoint_secret_rotated',
                      'endpoint_replayed', 'replay_requested', 'milestone_resolved', 'employee_erased'));
