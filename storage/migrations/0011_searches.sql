-- /search queries, so the paging buttons of a result message can name one by its id (a query does
-- not fit Telegram's 64 bytes of button data). The results themselves are never stored: they come
-- from the export API at each page. Old rows are pruned as new ones are written.
CREATE TABLE searches (
    id       INTEGER PRIMARY KEY,
    chat_id  INTEGER NOT NULL,
    query    TEXT    NOT NULL,
    created  TEXT    NOT NULL
);

CREATE INDEX searches_by_age ON searches (created);
