-- Papers, stored once however many categories list them. The feed writes a row first
-- (metadata_complete = 0) so a digest can go out at once, and the export API completes it later.
-- metadata_misses counts API answers without the paper, so a paper the API never returns stops
-- being asked for. categories is a JSON array, primary category first when known. Times are
-- ISO 8601 in UTC.
CREATE TABLE papers (
    arxiv_id                 TEXT    PRIMARY KEY,
    version                  INTEGER NOT NULL,
    title                    TEXT    NOT NULL,
    abstract                 TEXT    NOT NULL,
    primary_category         TEXT,
    categories               TEXT    NOT NULL,
    comment                  TEXT,
    journal_ref              TEXT,
    doi                      TEXT,
    metadata_complete        INTEGER NOT NULL DEFAULT 0,
    metadata_misses          INTEGER NOT NULL DEFAULT 0,
    first_seen               TEXT    NOT NULL,
    metadata_fetched_at      TEXT,
    affiliations_fetched_at  TEXT
);

-- Work queues: both stay tiny, so partial indexes keep "what is left to do" a short index walk.
CREATE INDEX papers_missing_metadata ON papers (first_seen) WHERE metadata_complete = 0;

CREATE INDEX papers_missing_affiliations ON papers (first_seen)
    WHERE metadata_complete = 1 AND affiliations_fetched_at IS NULL;

-- Authors in order. Affiliations are a JSON array per author: they are always read and written
-- with their author, in order, and never looked up by value, so a child table would only add a join.
CREATE TABLE authors (
    arxiv_id      TEXT    NOT NULL REFERENCES papers (arxiv_id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    affiliations  TEXT    NOT NULL DEFAULT '[]',
    PRIMARY KEY (arxiv_id, position)
) WITHOUT ROWID;

-- A paper's place in one category's announcement. The primary key serves "papers of category X
-- announced on D" as one range scan, and the second index "where is paper P listed".
CREATE TABLE listings (
    category       TEXT NOT NULL,
    announced      TEXT NOT NULL,
    arxiv_id       TEXT NOT NULL REFERENCES papers (arxiv_id) ON DELETE CASCADE,
    announce_type  TEXT NOT NULL CHECK (announce_type IN ('new', 'cross', 'replace', 'replace-cross')),
    PRIMARY KEY (category, announced, arxiv_id)
) WITHOUT ROWID;

CREATE INDEX listings_by_paper ON listings (arxiv_id);

-- One row per announcement ingested, entries counting every feed entry (replacements too). An empty
-- feed (weekend, holiday) writes none, so the latest announcement of a category is the last row of
-- its primary-key range.
CREATE TABLE announcements (
    category     TEXT    NOT NULL,
    announced    TEXT    NOT NULL,
    entries      INTEGER NOT NULL CHECK (entries > 0),
    ingested_at  TEXT    NOT NULL,
    PRIMARY KEY (category, announced)
) WITHOUT ROWID;
