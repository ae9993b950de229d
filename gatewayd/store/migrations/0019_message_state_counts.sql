-- The messages-by-state gauge of GET /metrics, kept by triggers as messages come and change state,
-- so a scrape reads a dozen rows instead of grouping the whole ledger (about 0.2 s at a million
-- messages, measured with bench/triggers.py). Seeded from the ledger present now.
CREATE TABLE message_state_counts (
    state TEXT PRIMARY KEY,
    count INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO message_state_counts (state, count) SELECT state, COUNT(*) FROM messages GROUP BY state;

CREATE TRIGGER gauge_message_added AFTER INSERT ON messages BEGIN
    INSERT INTO message_state_counts (state, count) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER gauge_message_moved AFTER UPDATE OF state ON messages WHEN NEW.state != OLD.state BEGIN
    UPDATE message_state_counts SET count = count - 1 WHERE state = OLD.state;
    INSERT INTO message_state_counts (state, count) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER gauge_message_removed AFTER DELETE ON messages BEGIN
    UPDATE message_state_counts SET count = count - 1 WHERE state = OLD.state;
END;
