-- A chat's categories. Subscriptions belong to the chat (a group shares one digest); they follow the
-- chat when Telegram migrates a group to a supergroup (ON UPDATE CASCADE on chats.id).
CREATE TABLE subscriptions (
    chat_id   INTEGER NOT NULL REFERENCES chats (id) ON UPDATE CASCADE ON DELETE CASCADE,
    category  TEXT    NOT NULL,
    created   TEXT    NOT NULL,
    PRIMARY KEY (chat_id, category)
) WITHOUT ROWID;
CREATE INDEX subscriptions_by_category ON subscriptions (category, chat_id);
