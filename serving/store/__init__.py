"""The store that keys, limits, usage, the audit trail and the response cache share: the Redis
connection (or fakeredis in-process), the pipelined connection for the hot path's scripts, the
one naming scheme of its keys, and the Lua script runner."""
