-- Console: server-side login sessions and the login attempts that rate-limit guessing.

-- One row per signed-in browser. The cookie carries a random token; only its SHA-256 is stored,
-- so a copy of the database does not let anyone sign in.
CREATE TABLE console_sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,                 -- sent back by every form and state-changing request
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,                 -- absolute end; the idle limit is checked on last_seen_at
    address      TEXT,
    user_agent   TEXT
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

-- Every login attempt (kept for a while, purged by age): failures per user and per address
-- within a window decide whether the next attempt is even checked.
CREATE TABLE login_attempts (
    id        INTEGER PRIMARY KEY,
    username  TEXT NOT NULL COLLATE NOCASE,
    address   TEXT NOT NULL,
    success   INTEGER NOT NULL CHECK (success IN (0, 1)),
    at        TEXT NOT NULL
);
CREATE INDEX login_attempts_user ON login_attempts (username, at);
CREATE INDEX login_attempts_address ON login_attempts (address, at);
