-- The scheduled cleanup (Cron Trigger) deletes by these columns, in bounded batches.
CREATE INDEX login_attempts_window_start ON login_attempts (window_start_ms);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at);
