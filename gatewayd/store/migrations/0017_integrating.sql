-- Standard Webhooks (issue 17): each event gets an id that is never reused, even after the delivery
-- log is purged or a backup restored (a rowid can come back; 128 random bits do not). Older events
-- get one now. `client_ref`: the client's own reference on a send, echoed in that message's events.
ALTER TABLE webhook_events ADD COLUMN uid TEXT;
UPDATE webhook_events SET uid = 'evt_' || lower(hex(randomblob(16))) WHERE uid IS NULL;
CREATE UNIQUE INDEX webhook_events_uid ON webhook_events (uid);
ALTER TABLE messages ADD COLUMN client_ref TEXT;

-- Counters that only go up, kept by triggers as the events happen, so GET /metrics reads a few
-- rows instead of scanning message_parts and messages (0.23 s per scrape at a million messages).
-- Seeded from the history present now.
CREATE TABLE counters (
    name  TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    value INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, label)
) WITHOUT ROWID;
INSERT INTO counters (name, label, value) SELECT 'parts_sent', line, COUNT(*) FROM message_parts GROUP BY line;
INSERT INTO counters (name, label, value)
    SELECT 'parts_' || state, line, COUNT(*) FROM message_parts WHERE state != 'sent' GROUP BY state, line;
INSERT INTO counters (name, label, value) SELECT 'send_retries', '', COALESCE(SUM(attempts), 0) FROM messages;
INSERT INTO counters (name, label, value)
    SELECT 'message_failures', COALESCE(error_key, 'other'), COUNT(*) FROM messages WHERE state = 'failed'
    GROUP BY COALESCE(error_key, 'other');
INSERT INTO counters (name, label, value)
    SELECT 'webhook_failures', CASE WHEN status IS NULL THEN 'no_answer' ELSE 'http_error' END, COUNT(*)
    FROM webhook_attempts WHERE error IS NOT NULL GROUP BY 2;

CREATE TRIGGER count_part_sent AFTER INSERT ON message_parts BEGIN
    INSERT INTO counters (name, label, value) VALUES ('parts_sent', NEW.line, 1)
        ON CONFLICT (name, label) DO UPDATE SET value = value + 1;
    INSERT INTO counters (name, label, value) SELECT 'parts_' || NEW.state, NEW.line, 1 WHERE NEW.state != 'sent'
        ON CONFLICT (name, label) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER count_part_outcome AFTER UPDATE OF state ON message_parts
    WHEN NEW.state != OLD.state AND NEW.state != 'sent' BEGIN
    INSERT INTO counters (name, label, value) VALUES ('parts_' || NEW.state, NEW.line, 1)
        ON CONFLICT (name, label) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER count_send_retries AFTER UPDATE OF attempts ON messages WHEN NEW.attempts > OLD.attempts BEGIN
    INSERT INTO counters (name, label, value) VALUES ('send_retries', '', NEW.attempts - OLD.attempts)
        ON CONFLICT (name, label) DO UPDATE SET value = value + excluded.value;
END;
CREATE TRIGGER count_message_failure AFTER UPDATE OF state ON messages
    WHEN NEW.state = 'failed' AND OLD.state != 'failed' BEGIN
    INSERT INTO counters (name, label, value) VALUES ('message_failures', COALESCE(NEW.error_key, 'other'), 1)
        ON CONFLICT (name, label) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER count_message_failed_at_once AFTER INSERT ON messages WHEN NEW.state = 'failed' BEGIN
    INSERT INTO counters (name, label, value) VALUES ('message_failures', COALESCE(NEW.error_key, 'other'), 1)
        ON CONFLICT (name, label) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER count_webhook_failure AFTER INSERT ON webhook_attempts WHEN NEW.error IS NOT NULL BEGIN
    INSERT INTO counters (name, label, value)
        VALUES ('webhook_failures', CASE WHEN NEW.status IS NULL THEN 'no_answer' ELSE 'http_error' END, 1)
        ON CONFLICT (name, label) DO UPDATE SET value = value + 1;
END;
