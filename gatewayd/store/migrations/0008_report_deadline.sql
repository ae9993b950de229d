-- `sent` messages still waiting for a delivery report (no reason yet), by when they went out: the
-- dispatcher gives those past [outbound] report_timeout_hours the reason "no delivery report".
CREATE INDEX messages_awaiting_report ON messages (sent_at) WHERE state = 'sent' AND error IS NULL;
