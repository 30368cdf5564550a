-- v2, writes that race a password reset: the password's version, bumped when the account's
-- owner sets a password (a change or a reset) and kept by a login's rehash. A rehash, a
-- change, an account deletion and a login's new session each write only while the version is
-- still the one their password check read, so none of them can undo or outlive a reset that
-- committed while they hashed. (The hash itself cannot serve: two logins that rehash the same
-- password at once write two different hashes.)
ALTER TABLE users ADD COLUMN password_version INTEGER NOT NULL DEFAULT 0;
