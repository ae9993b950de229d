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

-- Opt-outs: an append-only history (never deleted); the current list is derived from it.
-- Here rather than in 0003 because outbound (0002) checks it before every send.
CREATE TABLE opt_out_events (
    id          INTEGER PRIMARY KEY,
    number      TEXT NOT NULL,                  -- E.164
    action      TEXT NOT NULL CHECK (action IN ('out', 'in')),
    source      TEXT NOT NULL CHECK (source IN ('sms', 'api', 'console', 'import', 'call')),
    line        TEXT,                           -- modem line the STOP/START came in on
    inbound_id  INTEGER,                        -- the inbound message that caused it (no FK: 0003 owns that table)
    actor       TEXT,                           -- user name or API key name for manual changes
    note        TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX opt_out_events_number ON opt_out_events (number, id);

-- Latest event per number decides; 'out' means opted out now.
CREATE VIEW opt_outs_current AS
SELECT e.number, e.created_at, e.source, e.line, e.inbound_id
FROM opt_out_events e
WHERE e.action = 'out'
  AND e.id = (SELECT MAX(id) FROM opt_out_events x WHERE x.number = e.number);
