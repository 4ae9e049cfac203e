"""The daily push: planning it into the ledger and sending it within Telegram's limits."""
