-- Old sent parts are pruned (LEDGER_RETENTION_DAYS), and a message text goes with the last part that
-- refers to it: this index makes "does any part still refer to this text" one seek.
CREATE INDEX deliveries_content ON deliveries (content_id);
