-- Outbound: the send ledger (messages and the parts that went out), idempotency keys,
-- status reports waiting for their part, and the webhook outbox with its delivery log.

-- One row per SMS to one recipient. States (outbound/model.py, MessageState): scheduled, queued, sending, sent,
-- delivered, failed, expired, blocked, canceled, unknown.
CREATE TABLE messages (
    id                    INTEGER PRIMARY KEY,
    to_number             TEXT NOT NULL,                 -- E.164
    text                  TEXT NOT NULL,
    category              TEXT NOT NULL CHECK (category IN ('transactional', 'marketing')),
    state                 TEXT NOT NULL CHECK (state IN ('scheduled', 'queued', 'sending', 'sent', 'delivered',
                                                         'failed', 'expired', 'blocked', 'canceled', 'unknown')),
    priority              INTEGER NOT NULL DEFAULT 0,    -- lower goes first (API 0, campaign bulk 10)
    source                TEXT NOT NULL,                 -- api | console | campaign | reply | auto-reply | optout-confirm
    line                  TEXT,                          -- line asked for (NULL: the dispatcher chooses)
    line_key              TEXT NOT NULL DEFAULT '',      -- line or '' (indexable without NULL)
    sent_line             TEXT,                          -- line the parts went out on
    segments              INTEGER NOT NULL,
    encoding              TEXT NOT NULL,                 -- GSM-7 | UCS-2
    concat_ref            INTEGER NOT NULL,              -- concatenation reference, kept across retries
    send_at               TEXT,                          -- scheduled time (NULL: now)
    due_at                TEXT NOT NULL,                 -- earliest next attempt (schedule, backoff)
    expires_at            TEXT,                          -- TTL deadline: never sent after it
    attempts              INTEGER NOT NULL DEFAULT 0,    -- transient failures so far
    error_code            INTEGER,
    error                 TEXT,
    campaign_id           INTEGER,                       -- no FK: 0004 owns campaigns
    campaign_recipient_id INTEGER,
    thread_id             INTEGER,                       -- no FK: 0003 owns threads
    api_key_id            INTEGER,
    resend_of             INTEGER REFERENCES messages (id),
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    sent_at               TEXT,
    delivered_at          TEXT,
    finished_at           TEXT
);
-- The dispatcher's queue: best candidate per (category, line) by priority, due time, age.
CREATE INDEX messages_queue ON messages (category, line_key, priority, due_at, id) WHERE state = 'queued';
CREATE INDEX messages_scheduled ON messages (send_at) WHERE state = 'scheduled';
CREATE INDEX messages_expiry ON messages (expires_at) WHERE state IN ('queued', 'scheduled');
CREATE INDEX messages_state ON messages (state, id);
CREATE INDEX messages_to ON messages (to_number, id);
CREATE INDEX messages_campaign ON messages (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX messages_thread ON messages (thread_id, id) WHERE thread_id IS NOT NULL;
CREATE INDEX messages_api_key_day ON messages (api_key_id, created_at) WHERE api_key_id IS NOT NULL;
CREATE INDEX messages_resend_of ON messages (resend_of) WHERE resend_of IS NOT NULL;

-- One row per part handed to a modem (created when it is sent, or fails permanently).
-- A part in state 'sent' is never sent again: retries send only the missing ones.
CREATE TABLE message_parts (
    message_id    INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,                      -- 1-based part number
    state         TEXT NOT NULL CHECK (state IN ('sent', 'delivered', 'failed')),
    line          TEXT NOT NULL,
    reference     INTEGER,                               -- TP-MR the modem returned
    sent_at       TEXT,
    report_status INTEGER,                               -- latest TP-ST
    report_at     TEXT,
    error_code    INTEGER,
    error         TEXT,
    PRIMARY KEY (message_id, seq)
) WITHOUT ROWID;
CREATE INDEX message_parts_reference ON message_parts (line, reference, sent_at);
CREATE INDEX message_parts_sent ON message_parts (line, sent_at);

-- Status reports that arrived before their part's TP-MR was committed (matched later).
CREATE TABLE unmatched_reports (
    id             INTEGER PRIMARY KEY,
    line           TEXT NOT NULL,
    reference      INTEGER NOT NULL,
    recipient      TEXT NOT NULL,
    status         INTEGER NOT NULL,
    discharge_time TEXT,
    received_at    TEXT NOT NULL
);
CREATE INDEX unmatched_reports_key ON unmatched_reports (line, reference);

-- Idempotency-Key of POST /api/v1/messages: same key and body -> the same answer for 24 h.
CREATE TABLE idempotency_keys (
    api_key_id   INTEGER NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    response     TEXT NOT NULL,                          -- JSON body answered
    created_at   TEXT NOT NULL,
    PRIMARY KEY (api_key_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);

-- Webhooks: endpoints, one outbox row per (event, endpoint), and every attempt.
CREATE TABLE webhook_endpoints (
    id          INTEGER PRIMARY KEY,
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,                           -- HMAC-SHA256 key
    events      TEXT NOT NULL,                           -- space-separated event types, or '*'
    description TEXT NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE webhook_events (
    id         INTEGER PRIMARY KEY,
    type       TEXT NOT NULL,
    payload    TEXT NOT NULL,                            -- JSON
    created_at TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id            INTEGER PRIMARY KEY,
    event_id      INTEGER NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id   INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       TEXT NOT NULL,
    last_status   INTEGER,
    last_error    TEXT,
    created_at    TEXT NOT NULL,
    finished_at   TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_at, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_next ON webhook_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          TEXT NOT NULL,
    status      INTEGER,                                 -- HTTP status, NULL when no answer
    error       TEXT,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
