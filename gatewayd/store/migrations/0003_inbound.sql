-- Inbound: every SMS part as read from a modem, whole messages, conversation threads, the call log,
-- auto-reply rules and the record of automatic answers (rate limits and audit).
-- Opt-outs live in 0001 (outbound checks them before every send).

-- One conversation per remote party and line; the reply goes out on the thread's line.
CREATE TABLE threads (
    id             INTEGER PRIMARY KEY,
    number         TEXT NOT NULL,               -- E.164, or the sender as given (name, short code)
    line           TEXT NOT NULL,               -- modem line
    unread         INTEGER NOT NULL DEFAULT 0,  -- inbound messages not read yet (0 once marked read)
    last_at        TEXT NOT NULL,
    last_text      TEXT NOT NULL DEFAULT '',
    last_direction TEXT NOT NULL CHECK (last_direction IN ('in', 'out')),
    created_at     TEXT NOT NULL,
    UNIQUE (number, line)                       -- also serves number prefix search
);
CREATE INDEX threads_recent ON threads (last_at DESC, id DESC);
CREATE INDEX threads_unread ON threads (last_at DESC, id DESC) WHERE unread > 0;

-- Whole inbound messages (long ones reassembled); what threads, the API and webhooks show.
CREATE TABLE inbound_messages (
    id            INTEGER PRIMARY KEY,
    thread_id     INTEGER REFERENCES threads (id),  -- NULL only when the sender itself was undecodable
    line          TEXT NOT NULL,
    sender        TEXT NOT NULL,                -- '' when undecodable
    text          TEXT NOT NULL,
    smsc_time     TEXT,                         -- TP-SCTS of the first part (UTC)
    received_at   TEXT NOT NULL,
    parts_total   INTEGER NOT NULL DEFAULT 1,
    parts_missing TEXT,                         -- '2,3': parts that never came (kept after the timeout)
    concat_ref    INTEGER,                      -- concatenation reference (a late part finds its message)
    undecodable   TEXT,                         -- why the PDU could not be decoded (raw in inbound_parts)
    intent        TEXT CHECK (intent IN ('stop', 'start', 'auto-reply'))
);
CREATE INDEX inbound_thread ON inbound_messages (thread_id, id);
CREATE INDEX inbound_received ON inbound_messages (received_at);
CREATE INDEX inbound_incomplete ON inbound_messages (line, sender, concat_ref) WHERE parts_missing IS NOT NULL;

-- Full-text search on message text (diacritics folded: "arret" finds "arrêt").
CREATE VIRTUAL TABLE inbound_fts USING fts5(
    text, content = 'inbound_messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER inbound_fts_insert AFTER INSERT ON inbound_messages BEGIN
    INSERT INTO inbound_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER inbound_fts_update AFTER UPDATE OF text ON inbound_messages BEGIN
    INSERT INTO inbound_fts (inbound_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO inbound_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER inbound_fts_delete AFTER DELETE ON inbound_messages BEGIN
    INSERT INTO inbound_fts (inbound_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;

-- Every SMS-DELIVER part exactly as a modem handed it over, committed before the modem deletes it.
CREATE TABLE inbound_parts (
    id           INTEGER PRIMARY KEY,
    line         TEXT NOT NULL,
    sender       TEXT NOT NULL,
    smsc_time    TEXT,
    concat_ref   INTEGER,
    concat_total INTEGER,
    concat_seq   INTEGER,
    text         TEXT NOT NULL,
    pdu          TEXT NOT NULL,                 -- raw hex as read (audit, re-decoding)
    undecodable  TEXT,
    -- sender + SMSC time + concatenation ref/part (+ text): the same message read twice has the same key,
    -- the same text sent again later has another SMSC time.
    dedup_key    TEXT NOT NULL UNIQUE,
    message_id   INTEGER REFERENCES inbound_messages (id),  -- NULL while its long message waits for parts
    received_at  TEXT NOT NULL
);
CREATE INDEX inbound_parts_group ON inbound_parts (line, sender, concat_ref, concat_total)
    WHERE message_id IS NULL;
CREATE INDEX inbound_parts_waiting ON inbound_parts (received_at) WHERE message_id IS NULL;
CREATE INDEX inbound_parts_message ON inbound_parts (message_id);

-- Incoming calls (the daemon never answers: every call is a missed call).
CREATE TABLE calls (
    id               INTEGER PRIMARY KEY,
    line             TEXT NOT NULL,
    number           TEXT,                      -- NULL when withheld
    started_at       TEXT NOT NULL,
    ended_at         TEXT NOT NULL,
    rings            INTEGER NOT NULL,
    hung_up_by       TEXT NOT NULL CHECK (hung_up_by IN ('us', 'caller')),
    reply_message_id INTEGER                    -- the missed-call SMS queued, if any (outbound id)
);
CREATE INDEX calls_number ON calls (number, id);

-- Keyword → reply rules ("INFO", "HORAIRES").
CREATE TABLE autoreply_rules (
    id          INTEGER PRIMARY KEY,
    keyword     TEXT NOT NULL,                  -- as entered
    keyword_key TEXT NOT NULL,                  -- folded, spaces removed: what inbound texts are compared with
    reply       TEXT NOT NULL,
    line        TEXT,                           -- only for messages received on this line (NULL: any line)
    enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    hits        INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX autoreply_rules_key ON autoreply_rules (keyword_key, COALESCE(line, ''));

-- Every automatic answer decided (queued or held back by a limit): rate limits count from here.
CREATE TABLE auto_sends (
    id         INTEGER PRIMARY KEY,
    number     TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('auto-reply', 'optout-confirm', 'optin-confirm', 'missed-call')),
    line       TEXT,
    message_id INTEGER,                         -- outbound message queued (NULL when held back)
    inbound_id INTEGER,
    call_id    INTEGER,
    rule_id    INTEGER,
    held_back  TEXT,                            -- why it was not sent (cap reached…), NULL when queued
    created_at TEXT NOT NULL
);
CREATE INDEX auto_sends_number ON auto_sends (number, kind, created_at);
