-- Lines with an identity (issue 19): the line a user writes from when they choose none (their default),
-- and messages softly pinned to a line by the line choice rule (the correspondent's last line, the
-- author's default): unlike a line the sender chose, a soft pin is dropped when its line goes down,
-- so the message leaves through another line instead of waiting.
ALTER TABLE users ADD COLUMN default_line TEXT;
ALTER TABLE messages ADD COLUMN line_soft INTEGER NOT NULL DEFAULT 0;
