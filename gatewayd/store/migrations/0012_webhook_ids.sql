-- Standard Webhooks (issue 17): each event gets an id that is never reused, even after the delivery
-- log is purged or a backup restored (a rowid can come back; 128 random bits do not). Older events
-- get one now. `client_ref`: the client's own reference on a send, echoed in that message's events.
ALTER TABLE webhook_events ADD COLUMN uid TEXT;
UPDATE webhook_events SET uid = 'evt_' || lower(hex(randomblob(16))) WHERE uid IS NULL;
CREATE UNIQUE INDEX webhook_events_uid ON webhook_events (uid);
ALTER TABLE messages ADD COLUMN client_ref TEXT;
