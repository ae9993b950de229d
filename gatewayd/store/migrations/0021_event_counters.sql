-- GET /metrics' inbound, call and opt-out event totals, kept in `counters` by triggers like the
-- others (migration 0017), so a scrape no longer counts those tables row by row. Their rows are
-- never deleted (retention blanks texts), so the seeds below are the totals so far.
INSERT INTO counters (name, label, value) SELECT 'inbound_received', '', COUNT(*) FROM inbound_messages;
INSERT INTO counters (name, label, value) SELECT 'calls_logged', '', COUNT(*) FROM calls;
INSERT INTO counters (name, label, value) SELECT 'opt_out_events', action, COUNT(*) FROM opt_out_events GROUP BY action;

CREATE TRIGGER count_inbound_received AFTER INSERT ON inbound_messages BEGIN
    INSERT INTO counters (name, label, value) VALUES ('inbound_received', '', 1)
        ON CONFLICT (name, label) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER count_call_logged AFTER INSERT ON calls BEGIN
    INSERT INTO counters (name, label, value) VALUES ('calls_logged', '', 1)
        ON CONFLICT (name, label) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER count_opt_out_event AFTER INSERT ON opt_out_events BEGIN
    INSERT INTO counters (name, label, value) VALUES ('opt_out_events', NEW.action, 1)
        ON CONFLICT (name, label) DO UPDATE SET value = value + 1;
END;
