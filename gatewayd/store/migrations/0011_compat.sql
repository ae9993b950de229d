-- The compatibility surfaces (gatewayd.compat). SMS Gateway for Android names a send by the client's
-- own id: one row per (key, id), holding the ledger messages it became (consecutive ids).
CREATE TABLE android_batches (
    api_key_id       INTEGER NOT NULL,
    external_id      TEXT NOT NULL,
    first_message_id INTEGER NOT NULL,
    count            INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (api_key_id, external_id)
) WITHOUT ROWID;
CREATE INDEX android_batches_messages ON android_batches (first_message_id);

-- A webhook endpoint speaks gatewayd's envelope, or another API's (registered through that API,
-- under that API's id for it).
ALTER TABLE webhook_endpoints ADD COLUMN format TEXT NOT NULL DEFAULT 'gatewayd';
ALTER TABLE webhook_endpoints ADD COLUMN external_id TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN api_key_id INTEGER;
CREATE UNIQUE INDEX webhook_endpoints_external ON webhook_endpoints (format, api_key_id, external_id)
    WHERE external_id IS NOT NULL;
