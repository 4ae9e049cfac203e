"""Between the application and Telegram: updates in (tolerant parsing, per-chat order, flood
throttling) and every message out (one send budget for the whole process)."""
