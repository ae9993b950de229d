-- Outgoing e-mail (alerts, forwarded SMS, test messages): an outbox drained by the SMTP sender.
-- A row is written in the same transaction as what it reports, so a mail server that is down
-- loses nothing: the row waits, retried with backoff, until it is sent or too old.
CREATE TABLE email_outbox (
    id          INTEGER PRIMARY KEY,
    purpose     TEXT NOT NULL CHECK (purpose IN ('alert', 'forward', 'test')),
    recipients  TEXT NOT NULL,                 -- JSON list of addresses
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  TEXT NOT NULL,
    next_at     TEXT NOT NULL,                 -- when the next attempt is due
    sent_at     TEXT
);
CREATE INDEX email_outbox_pending ON email_outbox (id) WHERE state = 'pending';

-- One row per incident (a line down, a campaign auto-paused…): opened once, reminded, resolved.
-- At most one open incident per kind and subject: the unique index makes a second alert for the
-- same incident impossible, whoever raises it.
CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL,            -- line_down, registration_lost, storage_full, …
    subject          TEXT NOT NULL DEFAULT '', -- the line name, the campaign id, '' for the box
    state            TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
    params           TEXT NOT NULL DEFAULT '{}', -- JSON: what the message says (translated at display)
    opened_at        TEXT NOT NULL,
    reminded_at      TEXT,
    reminders        INTEGER NOT NULL DEFAULT 0,
    resolved_at      TEXT,
    acknowledged_at  TEXT,
    acknowledged_by  TEXT
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (kind, subject) WHERE state = 'open';
CREATE INDEX alerts_recent ON alerts (opened_at);

-- Small named positions of background readers (the last inbound message forwarded by e-mail…).
CREATE TABLE cursors (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
);

-- Prepaid balance checks by USSD, per line (the latest is what the console shows).
CREATE TABLE balance_checks (
    id          INTEGER PRIMARY KEY,
    line        TEXT NOT NULL,
    checked_at  TEXT NOT NULL,
    code        TEXT NOT NULL,
    answer      TEXT,                          -- the network's text
    amount      REAL,                          -- euros, when the answer could be read
    error       TEXT
);
CREATE INDEX balance_checks_line ON balance_checks (line, id);

-- The out-of-hours answer is one more kind of automatic SMS, counted by the same limits
-- (SQLite cannot change a CHECK constraint: the table is rebuilt with its rows).
CREATE TABLE auto_sends_new (
    id         INTEGER PRIMARY KEY,
    number     TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('auto-reply', 'optout-confirm', 'optin-confirm', 'missed-call',
                                             'out-of-hours')),
    line       TEXT,
    message_id INTEGER,                         -- outbound message queued (NULL when held back)
    inbound_id INTEGER,
    call_id    INTEGER,
    rule_id    INTEGER,
    held_back  TEXT,                            -- why it was not sent (cap reached…), NULL when queued
    created_at TEXT NOT NULL
);
INSERT INTO auto_sends_new SELECT * FROM auto_sends;
DROP TABLE auto_sends;
ALTER TABLE auto_sends_new RENAME TO auto_sends;
CREATE INDEX auto_sends_number ON auto_sends (number, kind, created_at);
