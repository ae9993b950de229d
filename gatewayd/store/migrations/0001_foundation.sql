-- Foundation: console users, API keys, key/value settings edited at run time.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    language      TEXT CHECK (language IN ('fr', 'en')),
    created_at    TEXT NOT NULL,
    disabled_at   TEXT
);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL UNIQUE,          -- public part, used to find the row
    secret_hash  TEXT NOT NULL,                 -- sha256 of the whole key (keys are high-entropy)
    scopes       TEXT NOT NULL,                 -- space-separated: send read admin
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,                   -- JSON
    updated_at TEXT NOT NULL
);
