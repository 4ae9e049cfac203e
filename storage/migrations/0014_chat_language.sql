-- The language a chat chose with /lang ("en" or "zh"); NULL means "follow the user's Telegram
-- language" (chats.language, the language_code Telegram sends).
ALTER TABLE chats ADD COLUMN chosen_language TEXT
