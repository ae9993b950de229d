-- Who asked for a message: 'console <user>' or 'api key <name>' (NULL for campaign messages, whose
-- campaign records its author, and for automatic answers). Shown on the message and in exports.
ALTER TABLE messages ADD COLUMN created_by TEXT;
