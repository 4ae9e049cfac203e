-- As SQLite's 0019: a counter every change to generated_texts moves, whichever connection or process
-- writes it, so a summary another instance accepted shows in this one's shared replies; apart from
-- paper_changes, which would have the curation caches prepare the announcement again with every
-- text accepted.
CREATE TABLE generated_text_changes (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    counter  BIGINT NOT NULL
);

INSERT INTO generated_text_changes (id, counter) VALUES (1, 0);

CREATE FUNCTION count_generated_text_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE generated_text_changes SET counter = counter + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER generated_texts_changed AFTER INSERT OR UPDATE OR DELETE ON generated_texts
FOR EACH STATEMENT EXECUTE FUNCTION count_generated_text_change();
