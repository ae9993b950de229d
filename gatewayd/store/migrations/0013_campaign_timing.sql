-- Campaigns that send on their own schedule: a reminder per recipient (from a date in their values)
-- or a recurring campaign (every week/month). timing: JSON (campaigns/timing.py); NULL = at once or
-- at scheduled_at. timing_report: JSON of what launch planned (recipients skipped, and why).
ALTER TABLE campaigns ADD COLUMN timing TEXT;
ALTER TABLE campaigns ADD COLUMN timing_report TEXT;
-- The occurrence a recurring campaign launched (its parent), for the parent's page and history.
ALTER TABLE campaigns ADD COLUMN parent_id INTEGER REFERENCES campaigns (id) ON DELETE SET NULL;
-- When a reminder's recipient is due (UTC); NULL = as soon as the campaign runs.
ALTER TABLE campaign_recipients ADD COLUMN send_at TEXT;
CREATE INDEX campaign_recipients_due ON campaign_recipients (campaign_id, send_at)
    WHERE state = 'pending' AND send_at IS NOT NULL;
