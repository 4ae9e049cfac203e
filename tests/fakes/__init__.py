"""Loopback fake servers that the real clients are pointed at in tests."""
