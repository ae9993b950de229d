-- A conversation reads its inbound messages newest first by (received_at, id): with only
-- (thread_id, id) indexed, SQLite sorted every message of a long thread on each page view
-- (128 ms for a 10,000-message thread on the 1M-message benchmark). This index is the order itself.
CREATE INDEX inbound_thread_time ON inbound_messages (thread_id, received_at, id);
