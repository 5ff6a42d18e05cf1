"""Scoring hints in Redis: visitors waiting to be scored, one pending set per shard, and the drain task holding each.

A hint adds the stored visitors to their shards' sets and, in the same MULTI, takes each shard's drainer key
with SET NX: only a shard that had no drainer gets a task published (alerts.tasks.score_pending), so a burst of
batches costs one task per shard, not one per visitor. The drainer hands its shard back with one script that
deletes the key only when the set is empty (else it keeps draining): a hint that lands while a drainer is
finishing either sees the key gone and publishes a drainer, or its visitor is seen by the one still holding it.

Like every hint this lives in Redis (the broker's database, so it shares the task messages' fate) and may be
lost: the beat sweep of unscored events (alerts.services.sweep_unscored) scores what a lost hint or a killed
drainer left behind.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence

import redis
from django.conf import settings

from alerts import coalescing

# Renew the shard if it is ours, take it if nobody holds it.
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not held then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""
# Give the shard up only when nothing waits in it, atomically, so no hint falls between "empty" and "released".
# 1: visitors arrived meanwhile and the shard is still ours; 0: released (or no longer ours).
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('ZCARD', KEYS[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
redis.call('DEL', KEYS[1])
return 0
"""

_state: dict = {}


def _redis() -> redis.Redis:
    key = (os.getpid(), settings.CELERY_BROKER_URL)  # a prefork child makes its own connections
    if _state.get("key") != key:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=settings.REDIS_SOCKET_TIMEOUT_SECONDS,
                                      socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT_SECONDS)
        _state.update(key=key, client=client, claim=client.register_script(_CLAIM),
                      release=client.register_script(_RELEASE))
    return _state["client"]


def hint(visitor_ids: Sequence[int], *, now: float) -> list[tuple[int, int]]:
    """Queue visitors for scoring; returns (shard, token) of each shard that had no drainer and now needs one."""
    grouped = coalescing.by_shard(visitor_ids, settings.SCORING_DRAINERS)
    if not grouped:
        return []
    # A number, not a uuid: task messages carry ids only (tests/crm/test_nothing_personal_in_flight.py).
    tokens = {shard: secrets.randbits(62) for shard in grouped}
    pipe = _redis().pipeline(transaction=True)
    for shard, ids in grouped.items():
        # NX: a visitor already waiting keeps its place (and the time it began waiting).
        pipe.zadd(coalescing.pending_key(shard), {str(v): now for v in ids}, nx=True)
        pipe.set(coalescing.drainer_key(shard), tokens[shard], nx=True, px=coalescing.DRAINER_TTL_MS)
    replies = pipe.execute()
    return [(shard, tokens[shard]) for n, shard in enumerate(grouped) if replies[2 * n + 1]]


def claim(shard: int, token: int) -> bool:
    """Renew the drainer's hold on its shard (or take a free one); False when another drainer holds it."""
    _redis()
    return bool(_state["claim"](keys=[coalescing.drainer_key(shard)], args=[token, coalescing.DRAINER_TTL_MS]))


def take(shard: int, count: int = coalescing.CHUNK) -> list[int]:
    """The visitors that have waited longest in the shard, removed from it."""
    return [int(member) for member, _ in _redis().zpopmin(coalescing.pending_key(shard), count)]


def put_back(shard: int, visitor_ids: Sequence[int], *, now: float) -> None:
    """Visitors with more events than one bounded batch wait again, behind the others."""
    if visitor_ids:
        _redis().zadd(coalescing.pending_key(shard), {str(v): now for v in visitor_ids}, nx=True)


def release(shard: int, token: int) -> bool:
    """Hand the shard back if nothing waits; True when visitors arrived meanwhile and the drainer must go on."""
    _redis()
    return bool(_state["release"](keys=[coalescing.drainer_key(shard), coalescing.pending_key(shard)],
                                  args=[token, coalescing.DRAINER_TTL_MS]))


def forget_all() -> None:
    """Drop every pending visitor and drainer hold (tests, after purging the queues the drainers were in)."""
    client = _redis()
    keys = list(client.scan_iter(match="alerts:scoring:*", count=1000))
    if keys:
        client.delete(*keys)
