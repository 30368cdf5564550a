-- v2, email delivery: the per-account hourly cap on emails of one kind (EMAIL_MAX_PER_HOUR), in
-- a fixed one-hour window from the window's first email. Counted only for existing accounts;
-- the row goes with its user.
CREATE TABLE email_sends (
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose         TEXT NOT NULL,                       -- password_reset | email_verification
    sent            INTEGER NOT NULL,                    -- emails asked for in the window
    window_start_ms INTEGER NOT NULL,                    -- Unix ms of the window's first email
    PRIMARY KEY (user_id, purpose)
);
