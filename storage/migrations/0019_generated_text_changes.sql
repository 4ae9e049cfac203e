-- As paper_changes (0018), for the language model's texts: a counter every change to generated_texts
-- moves, whichever connection or process writes it, so a summary another process accepted shows in
-- this one's shared replies. A counter of its own: texts are accepted one by one after a poll, and
-- moving paper_changes would have the curation caches prepare the announcement again each time.
CREATE TABLE generated_text_changes (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    counter  INTEGER NOT NULL
);

INSERT INTO generated_text_changes (id, counter) VALUES (1, 0);

CREATE TRIGGER generated_texts_added AFTER INSERT ON generated_texts
BEGIN
    UPDATE generated_text_changes SET counter = counter + 1;
END;

CREATE TRIGGER generated_texts_changed AFTER UPDATE ON generated_texts
BEGIN
    UPDATE generated_text_changes SET counter = counter + 1;
END;

CREATE TRIGGER generated_texts_removed AFTER DELETE ON generated_texts
BEGIN
    UPDATE generated_text_changes SET counter = counter + 1;
END;
