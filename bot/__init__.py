"""paper-digest-bot: daily digests of new arXiv papers in Telegram."""
