-- What an administrator says about each line: a label ("Accueil", "SAV") and, for a SIM that does not
-- store its own number (AT+CNUM answers nothing), that number. Keyed by the line's configured name.
CREATE TABLE line_identity (
    name       TEXT PRIMARY KEY,
    label      TEXT NOT NULL DEFAULT '',
    number     TEXT,                              -- E.164, or NULL
    updated_by TEXT,
    updated_at TEXT NOT NULL
);
