-- HTML pages that kept failing are retried on later passes, up to a limit, then given up on.
ALTER TABLE papers ADD COLUMN affiliation_attempts INTEGER NOT NULL DEFAULT 0
