-- Contacts, groups, imports, templates and campaigns.

-- The user-named custom fields (at most 20, enforced by the service); values live in contacts.fields.
CREATE TABLE contact_fields (
    name       TEXT PRIMARY KEY COLLATE NOCASE,   -- also the template variable name
    position   INTEGER NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE contacts (
    id              INTEGER PRIMARY KEY,
    mobile          TEXT NOT NULL UNIQUE,          -- E.164; one contact per number
    last_name       TEXT NOT NULL DEFAULT '',
    first_name      TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',      -- lower case
    language        TEXT CHECK (language IN ('fr', 'en')),
    fields          TEXT NOT NULL DEFAULT '{}',    -- JSON object: custom field name -> text
    optin_source    TEXT,                          -- import:<id> | api | console | form …
    optin_at        TEXT,
    optin_statement TEXT,                          -- the certification the user accepted
    optin_by        TEXT,                          -- who certified it (user or API key name)
    key_last        TEXT NOT NULL DEFAULT '',      -- last_name folded (lower case, no accents): search
    key_first       TEXT NOT NULL DEFAULT '',      -- first_name folded
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
-- Prefix search stays on indexes (key >= 'dup' AND key < 'dup\uffff'); FTS5 cost 4 s per 200k-row import.
CREATE INDEX contacts_key_last ON contacts (key_last);
CREATE INDEX contacts_key_first ON contacts (key_first);
CREATE INDEX contacts_email ON contacts (email) WHERE email <> '';

-- Groups: static membership, or a rule (JSON list of conditions, all must hold) evaluated on read.
CREATE TABLE contact_groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    description TEXT NOT NULL DEFAULT '',
    rule        TEXT,                              -- NULL for a static group
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE group_members (
    group_id   INTEGER NOT NULL REFERENCES contact_groups (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    added_at   TEXT NOT NULL,
    PRIMARY KEY (group_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX group_members_contact ON group_members (contact_id);

-- Uploaded files: stored on disk under the data dir, analysed then committed by streaming.
CREATE TABLE imports (
    id           INTEGER PRIMARY KEY,
    purpose      TEXT NOT NULL CHECK (purpose IN ('contacts', 'campaign')),
    filename     TEXT NOT NULL,                    -- as uploaded (shown, never used as a path)
    path         TEXT NOT NULL,                    -- where the bytes are, under the data dir
    size         INTEGER NOT NULL,
    format       TEXT NOT NULL CHECK (format IN ('csv', 'txt', 'xlsx')),
    state        TEXT NOT NULL CHECK (state IN ('uploaded', 'analysed', 'committed', 'failed')),
    analysis     TEXT,                             -- JSON report of step 1
    report       TEXT,                             -- JSON report of step 2
    created_by   TEXT,
    created_at   TEXT NOT NULL,
    committed_at TEXT
);

CREATE TABLE templates (
    id         INTEGER PRIMARY KEY,
    title      TEXT NOT NULL,
    line       TEXT,                               -- modem line name; NULL = any line of the pool
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE campaigns (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    tag               TEXT NOT NULL DEFAULT '',
    category          TEXT NOT NULL CHECK (category IN ('marketing', 'transactional')),
    state             TEXT NOT NULL CHECK (state IN ('draft', 'scheduled', 'running', 'paused',
                                                      'completed', 'canceled')),
    line              TEXT,                        -- NULL = the pool chooses
    audience          TEXT NOT NULL,               -- JSON: groups, contacts, numbers, file + mapping
    stop_mention      TEXT NOT NULL DEFAULT '',    -- appended to every text (marketing: never empty)
    scheduled_at      TEXT,
    started_at        TEXT,
    paused_at         TEXT,
    pause_reason      TEXT,
    resumed_at        TEXT,                        -- the failure rate is judged from here on
    finished_at       TEXT,
    duplicates        INTEGER NOT NULL DEFAULT 0, -- numbers met twice in the audience (kept once)
    created_by        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX campaigns_state ON campaigns (state, scheduled_at);
CREATE INDEX campaigns_tag ON campaigns (tag);

-- Which template a recipient gets: by the contact's language, else 'default'.
CREATE TABLE campaign_templates (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    language    TEXT NOT NULL CHECK (language IN ('default', 'fr', 'en')),
    template_id INTEGER NOT NULL REFERENCES templates (id),
    PRIMARY KEY (campaign_id, language)
) WITHOUT ROWID;

-- One row per number per campaign (UNIQUE: nobody is ever added twice, refresh included).
-- state: pending (to send) -> submitted (handed to outbound, message_id set); excluded never sends.
CREATE TABLE campaign_recipients (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    number       TEXT NOT NULL,
    contact_id   INTEGER,                          -- no FK: deleting a contact keeps the history
    source       TEXT NOT NULL CHECK (source IN ('group', 'contact', 'number', 'file')),
    vars         TEXT,                             -- JSON variables of a file recipient
    language     TEXT,                             -- fr | en as known at launch (file column or contact)
    state        TEXT NOT NULL CHECK (state IN ('pending', 'submitted', 'excluded')),
    exclusion    TEXT CHECK (exclusion IN ('opted_out', 'invalid', 'deleted')),
    message_id   INTEGER,
    added_at     TEXT NOT NULL,
    submitted_at TEXT,
    UNIQUE (campaign_id, number)
);
-- Only recipients still to send are indexed for the runner: marking 200,000 submitted stays cheap.
CREATE INDEX campaign_recipients_pending ON campaign_recipients (campaign_id, id) WHERE state = 'pending';
