-- Legacy Excel 97-2003 (.xls) uploads: the format's CHECK gains 'xls'. SQLite cannot alter a CHECK,
-- so the table is rebuilt with the same rows (nothing references imports by a foreign key).
CREATE TABLE imports_new (
    id           INTEGER PRIMARY KEY,
    purpose      TEXT NOT NULL CHECK (purpose IN ('contacts', 'campaign')),
    filename     TEXT NOT NULL,                    -- as uploaded (shown, never used as a path)
    path         TEXT NOT NULL,                    -- where the bytes are, under the data dir
    size         INTEGER NOT NULL,
    format       TEXT NOT NULL CHECK (format IN ('csv', 'txt', 'xlsx', 'xls')),
    state        TEXT NOT NULL CHECK (state IN ('uploaded', 'analysed', 'committed', 'failed')),
    analysis     TEXT,                             -- JSON report of step 1
    report       TEXT,                             -- JSON report of step 2
    created_by   TEXT,
    created_at   TEXT NOT NULL,
    committed_at TEXT
);
INSERT INTO imports_new SELECT id, purpose, filename, path, size, format, state, analysis, report, created_by,
                               created_at, committed_at FROM imports;
DROP TABLE imports;
ALTER TABLE imports_new RENAME TO imports;
