-- A template's own default values, by variable name (a JSON object of strings): they stand in for a
-- recipient with no value where the text gives no inline `{name|default}` (issue 13).
ALTER TABLE templates ADD COLUMN defaults TEXT NOT NULL DEFAULT '{}';
