-- Work that must run once however many processes share the database (polling arXiv, planning a
-- push, looking for affiliations): a process holds the job's lease while it works and renews it;
-- another takes the job over only once the lease has run out.
CREATE TABLE job_leases (
    name     TEXT PRIMARY KEY,
    holder   TEXT NOT NULL,
    expires  TEXT NOT NULL
) WITHOUT ROWID;

-- Telegram's bot-wide rate, shared by every process that sends: each takes a few sends at a time
-- (a grant, spent within a fraction of a second), and no grant is given that would put more than
-- the rate into any one second. `granted` is seconds since the epoch.
CREATE TABLE send_grants (
    id       INTEGER PRIMARY KEY,
    granted  REAL    NOT NULL,
    sends    INTEGER NOT NULL CHECK (sends > 0)
);
CREATE INDEX send_grants_by_time ON send_grants (granted);
