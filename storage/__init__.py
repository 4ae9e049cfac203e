"""SQLite persistence through aiosqlite; imports neither Telegram nor arXiv code."""
