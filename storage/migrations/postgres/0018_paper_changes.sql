-- As SQLite's 0018: a counter every change to papers, their authors or listings moves, whichever
-- connection or process writes it; the curation caches compare it to know they are stale. The next
-- transaction id (what such a cache could compare otherwise) moves with every write, the push's
-- ledger and send grants included. Triggers fire once per statement: a poll's bulk insert moves the
-- counter once, not once per row.
CREATE TABLE paper_changes (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    counter  BIGINT NOT NULL
);

INSERT INTO paper_changes (id, counter) VALUES (1, 0);

CREATE FUNCTION count_paper_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE paper_changes SET counter = counter + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER papers_added_or_removed AFTER INSERT OR DELETE ON papers
FOR EACH STATEMENT EXECUTE FUNCTION count_paper_change();

-- Only what a digest shows: the work-queue columns (metadata and affiliation attempts) change often.
CREATE TRIGGER papers_changed
AFTER UPDATE OF version, title, abstract, primary_category, categories, comment, journal_ref, doi ON papers
FOR EACH STATEMENT EXECUTE FUNCTION count_paper_change();

CREATE TRIGGER authors_changed AFTER INSERT OR UPDATE OR DELETE ON authors
FOR EACH STATEMENT EXECUTE FUNCTION count_paper_change();

CREATE TRIGGER listings_changed AFTER INSERT OR UPDATE OR DELETE ON listings
FOR EACH STATEMENT EXECUTE FUNCTION count_paper_change();
