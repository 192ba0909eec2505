"""API keys, limits and usage: everything kept in the store (Redis, or in-process by default)."""
