-- Message contents to deliver, stored once: chats following the same categories get the same digest,
-- so 100,000 chats need a few hundred rows here, and status changes below never rewrite the text.
CREATE TABLE delivery_contents (
    id      INTEGER PRIMARY KEY,
    sha256  TEXT    NOT NULL UNIQUE,
    text    TEXT    NOT NULL,
    markup  TEXT
);

-- The delivery ledger: every message part planned for a chat and an announcement date, with the exact
-- text and buttons to send, so a resumed push sends what was planned. A sender claims a chat's unsent
-- parts for a while (a lease in `due`), and a crashed sender's lease runs out and another takes over.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL REFERENCES chats (id) ON UPDATE CASCADE ON DELETE CASCADE,
    announced   TEXT    NOT NULL,
    part        INTEGER NOT NULL CHECK (part >= 1),
    content_id  INTEGER NOT NULL REFERENCES delivery_contents (id),
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'claimed', 'sent', 'failed')),
    -- pending: not before this time. claimed: the claim expires at this time.
    due         TEXT    NOT NULL,
    claimed_by  TEXT,
    claimed_at  TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    message_id  INTEGER,
    sent_at     TEXT,
    UNIQUE (chat_id, announced, part)
);
-- What is claimable now: pending parts that are due and claims that expired.
CREATE INDEX deliveries_queue ON deliveries (status, due);
-- A chat's unsent parts in order: finds its first one, and whether someone holds it, in one seek.
CREATE INDEX deliveries_unsent ON deliveries (chat_id, announced, part) WHERE status IN ('pending', 'claimed');
CREATE INDEX deliveries_by_date ON deliveries (announced, status, chat_id);
