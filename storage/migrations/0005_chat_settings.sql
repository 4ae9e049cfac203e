-- Per-chat delivery preferences; NULL means "the default": at once, the bot's TIMEZONE, 10 entries.
ALTER TABLE chats ADD COLUMN delivery_time TEXT;
ALTER TABLE chats ADD COLUMN timezone TEXT;
ALTER TABLE chats ADD COLUMN digest_size INTEGER
