-- Operator broadcasts go through the delivery ledger like digests: Telegram's limits, resuming after
-- a crash, and one policy for chats that are gone. The operator is told the outcome once every chat's
-- message is sent or given up on (`reported`).
CREATE TABLE broadcasts (
    id            INTEGER PRIMARY KEY,
    content_id    INTEGER NOT NULL REFERENCES delivery_contents (id),
    requested_by  INTEGER NOT NULL,
    report_to     INTEGER NOT NULL,
    created       TEXT    NOT NULL,
    reported      TEXT
);

-- The ledger again, with a row being a digest's part or a broadcast's message. Senders address rows
-- by id; a digest's parts are unique per chat, announcement and position, a broadcast once per chat.
CREATE TABLE new_deliveries (
    id            INTEGER PRIMARY KEY,
    chat_id       INTEGER NOT NULL REFERENCES chats (id) ON UPDATE CASCADE ON DELETE CASCADE,
    -- The digest's announcement; for a broadcast, the day it was asked for (its place in the queue).
    announced     TEXT    NOT NULL,
    broadcast_id  INTEGER REFERENCES broadcasts (id),
    part          INTEGER NOT NULL CHECK (part >= 1),
    content_id    INTEGER NOT NULL REFERENCES delivery_contents (id),
    status        TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'claimed', 'sent', 'failed')),
    -- pending: not before this time. claimed: the claim expires at this time.
    due           TEXT    NOT NULL,
    claimed_by    TEXT,
    claimed_at    TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    message_id    INTEGER,
    sent_at       TEXT
);
INSERT INTO new_deliveries (id, chat_id, announced, part, content_id, status, due, claimed_by, claimed_at,
                            attempts, last_error, message_id, sent_at)
SELECT id, chat_id, announced, part, content_id, status, due, claimed_by, claimed_at,
       attempts, last_error, message_id, sent_at
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE new_deliveries RENAME TO deliveries;
CREATE UNIQUE INDEX deliveries_digest_part ON deliveries (chat_id, announced, part) WHERE broadcast_id IS NULL;
CREATE UNIQUE INDEX deliveries_broadcast_chat ON deliveries (broadcast_id, chat_id) WHERE broadcast_id IS NOT NULL;
-- What is claimable now: pending parts that are due and claims that expired.
CREATE INDEX deliveries_queue ON deliveries (status, due);
-- A chat's unsent parts: whether someone holds the chat, and its parts to claim, in one seek.
CREATE INDEX deliveries_unsent ON deliveries (chat_id, status, due) WHERE status IN ('pending', 'claimed');
CREATE INDEX deliveries_by_date ON deliveries (announced, status, chat_id);
