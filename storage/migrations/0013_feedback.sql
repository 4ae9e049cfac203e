-- Taps on featured entries: one row per chat, member and paper. In a private chat the member is
-- the chat's user; in a group each member's taps count separately. vote is 1 (👍), -1 (👎) or 0;
-- saved_at is set while the paper is saved (🔖). updated is the last tap, for "liked yesterday".
CREATE TABLE feedback (
    chat_id   INTEGER NOT NULL REFERENCES chats (id) ON UPDATE CASCADE ON DELETE CASCADE,
    user_id   INTEGER NOT NULL,
    arxiv_id  TEXT    NOT NULL REFERENCES papers (arxiv_id) ON DELETE CASCADE,
    vote      INTEGER NOT NULL DEFAULT 0 CHECK (vote IN (-1, 0, 1)),
    saved_at  TEXT,
    updated   TEXT    NOT NULL,
    PRIMARY KEY (chat_id, user_id, arxiv_id)
) WITHOUT ROWID;

-- "Liked by N readers" counts across every chat.
CREATE INDEX feedback_by_paper ON feedback (arxiv_id) WHERE vote = 1 OR saved_at IS NOT NULL;
-- /saved: a member's saved papers, newest first.
CREATE INDEX feedback_saved ON feedback (chat_id, user_id, saved_at) WHERE saved_at IS NOT NULL;

-- Featured papers of messages the chat tapped on: the ones shown and left untapped teach the
-- chat's model what it does not want.
CREATE TABLE impressions (
    chat_id   INTEGER NOT NULL REFERENCES chats (id) ON UPDATE CASCADE ON DELETE CASCADE,
    arxiv_id  TEXT    NOT NULL REFERENCES papers (arxiv_id) ON DELETE CASCADE,
    shown     TEXT    NOT NULL,
    PRIMARY KEY (chat_id, arxiv_id)
) WITHOUT ROWID;

-- A chat's ranking model: `version` grows with every tap (a cached model of an older version is
-- retrained); /ranking reset moves `reset_at`, and only taps after it teach the model.
CREATE TABLE ranking_state (
    chat_id   INTEGER PRIMARY KEY REFERENCES chats (id) ON UPDATE CASCADE ON DELETE CASCADE,
    version   INTEGER NOT NULL DEFAULT 0,
    reset_at  TEXT
)
