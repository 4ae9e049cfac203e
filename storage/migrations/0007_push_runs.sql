-- One row per announcement whose push was planned: planning happens once, so chats that subscribe
-- later start with the next announcement, and a restart never plans a day twice.
CREATE TABLE push_runs (
    announced   TEXT    PRIMARY KEY,
    planned_at  TEXT    NOT NULL,
    chats       INTEGER NOT NULL,
    messages    INTEGER NOT NULL
) WITHOUT ROWID
