-- Every chat that ever talked to the bot. `active` drops to 0 when the bot is blocked or removed.
CREATE TABLE chats (
    id          INTEGER PRIMARY KEY,
    type        TEXT    NOT NULL,
    title       TEXT,
    language    TEXT,
    created     TEXT    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1
);
