-- A campaign recipient can be left out because their own text has a problem the person launching
-- chose to exclude (an empty variable, a switch to UCS-2, more segments than the cap): the
-- exclusion 'text'. SQLite cannot change a CHECK in place: the table is rebuilt with its rows.
CREATE TABLE campaign_recipients_new (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    number       TEXT NOT NULL,
    contact_id   INTEGER,                          -- no FK: deleting a contact keeps the history
    source       TEXT NOT NULL CHECK (source IN ('group', 'contact', 'number', 'file')),
    vars         TEXT,                             -- JSON variables of a file recipient
    language     TEXT,                             -- fr | en as known at launch (file column or contact)
    state        TEXT NOT NULL CHECK (state IN ('pending', 'submitted', 'excluded')),
    exclusion    TEXT CHECK (exclusion IN ('opted_out', 'invalid', 'deleted', 'text')),
    message_id   INTEGER,
    added_at     TEXT NOT NULL,
    submitted_at TEXT,
    send_at      TEXT,                             -- 0013: a reminder's own send time
    UNIQUE (campaign_id, number)
);
INSERT INTO campaign_recipients_new SELECT id, campaign_id, number, contact_id, source, vars, language, state,
    exclusion, message_id, added_at, submitted_at, send_at FROM campaign_recipients;
DROP TABLE campaign_recipients;
ALTER TABLE campaign_recipients_new RENAME TO campaign_recipients;
CREATE INDEX campaign_recipients_pending ON campaign_recipients (campaign_id, id) WHERE state = 'pending';
CREATE INDEX campaign_recipients_due ON campaign_recipients (campaign_id, send_at)
    WHERE state = 'pending' AND send_at IS NOT NULL;
