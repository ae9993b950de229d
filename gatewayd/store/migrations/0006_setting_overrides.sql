-- Settings changed in the console. A row overrides the configuration file's value of the same
-- section and key until an administrator resets the section; the file stays the default.
CREATE TABLE setting_overrides (
    section    TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,                   -- JSON, validated by the section's settings model
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL,                   -- the console user's name
    PRIMARY KEY (section, key)
);
