-- A counter every change to papers, their authors or listings moves, whichever connection or process
-- writes it: the curation caches (digests, prepared announcements) compare it to know they are stale.
-- SQLite's data_version moves with any other connection's commit, which would also count the push's
-- ledger writes once the push has a connection of its own.
CREATE TABLE paper_changes (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    counter  INTEGER NOT NULL
);

INSERT INTO paper_changes (id, counter) VALUES (1, 0);

CREATE TRIGGER papers_added AFTER INSERT ON papers
BEGIN
    UPDATE paper_changes SET counter = counter + 1;
END;

-- Only what a digest shows: the work-queue columns (metadata and affiliation attempts) change often.
CREATE TRIGGER papers_changed
AFTER UPDATE OF version, title, abstract, primary_category, categories, comment, journal_ref, doi ON papers
BEGIN
    UPDATE paper_changes SET counter = counter + 1;
END;

CREATE TRIGGER papers_removed AFTER DELETE ON papers
BEGIN
    UPDATE paper_changes SET counter = counter + 1;
END;

CREATE TRIGGER authors_added AFTER INSERT ON authors
BEGIN
    UPDATE paper_changes SET counter = counter + 1;
END;

CREATE TRIGGER authors_changed AFTER UPDATE ON authors
BEGIN
    UPDATE paper_changes SET counter = counter + 1;
END;

CREATE TRIGGER authors_removed AFTER DELETE ON authors
BEGIN
    UPDATE paper_changes SET counter = counter + 1;
END;

CREATE TRIGGER listings_added AFTER INSERT ON listings
BEGIN
    UPDATE paper_changes SET counter = counter + 1;
END;

CREATE TRIGGER listings_changed AFTER UPDATE ON listings
BEGIN
    UPDATE paper_changes SET counter = counter + 1;
END;

CREATE TRIGGER listings_removed AFTER DELETE ON listings
BEGIN
    UPDATE paper_changes SET counter = counter + 1;
END;
