-- v2, email enumeration: every well-formed forgot/verification request writes a row here, for
-- an existing account or not, so both answers commit a write and take the same time (an
-- unknown address used to write nothing and answered measurably faster). The scheduled cleanup
-- deletes rows whose hour has passed; an account deletion deletes its address's rows.
CREATE TABLE email_requests (
    email           TEXT NOT NULL,                       -- normalized
    purpose         TEXT NOT NULL,                       -- password_reset | email_verification
    requests        INTEGER NOT NULL,                    -- requests in the window
    window_start_ms INTEGER NOT NULL,                    -- Unix ms of the window's first request
    PRIMARY KEY (email, purpose)
);

CREATE INDEX email_requests_window_start ON email_requests (window_start_ms);
