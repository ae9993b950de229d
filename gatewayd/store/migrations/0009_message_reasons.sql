-- Why a message is blocked, failed, expired, unknown or waiting for a retry, as a stable code with its
-- parameters (gatewayd/problems.py): the API keeps the English `error`, the console renders the code
-- in its language. NULL on rows written before this migration (their `error` is shown as it is).
ALTER TABLE messages ADD COLUMN error_key TEXT;
ALTER TABLE messages ADD COLUMN error_params TEXT;

-- A template's transliteration switch (GSM-7 look-alikes): 1 on, 0 off, NULL the site default.
ALTER TABLE templates ADD COLUMN transliterate INTEGER;
