-- What a chat follows beyond its categories: topics, authors, institutions. `text` is as the user
-- wrote it (for lists and reasons), `key` its normalized form, so "RAGs" and "rag" are one follow.
-- The id names a follow in its remove button.
CREATE TABLE follows (
    id       INTEGER PRIMARY KEY,
    chat_id  INTEGER NOT NULL REFERENCES chats (id) ON UPDATE CASCADE ON DELETE CASCADE,
    kind     TEXT    NOT NULL CHECK (kind IN ('topic', 'author', 'inst')),
    text     TEXT    NOT NULL,
    key      TEXT    NOT NULL,
    created  TEXT    NOT NULL,
    UNIQUE (chat_id, kind, key)
)
