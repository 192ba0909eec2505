"""What a store call can raise, and which of it may pass by itself (a failover) rather than
refuse the command for good."""

from __future__ import annotations

from redis.exceptions import (
    ClusterDownError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    ResponseError,
    TryAgainError,
)

# redis-py's errors, and its cluster client's own (a slot no node covers, no seed node
# reachable) that are not RedisError.
STORE_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException)
# Error replies that mean "not now" rather than "no": a failover under way (a demoted or
# replica-less primary, a cluster slot without its primary), a Redis still loading, a script
# still running.
_PASSING_REPLIES = frozenset({"READONLY", "NOREPLICAS", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "LOADING", "BUSY"})


def passing(exc: Exception) -> bool:
    """Whether a store error may go away by itself (retry later), not a refusal (WRONGTYPE, OOM)."""
    if not isinstance(exc, ResponseError):
        return True  # the connection, a timeout, no node for the slot
    if isinstance(exc, (ClusterDownError, TryAgainError, ReadOnlyError)):
        return True
    return getattr(exc, "status_code", None) in _PASSING_REPLIES
