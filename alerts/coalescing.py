"""Pure decisions of scoring's coalescing: which drainer a shopper belongs to, and when a drainer yields.

Stored visitors wait in one Redis pending set per shard; one drain task per shard scores them (alerts/pending.py
holds the Redis side, alerts.tasks.score_pending the drainer). A visitor always maps to the same shard, so one
drainer scores a shopper's batches in order, while the shards' drainers run in parallel on the worker's processes.
No I/O, clocks or settings here: callers pass them in.
"""

from __future__ import annotations

from collections.abc import Iterable

PENDING_PREFIX = "alerts:scoring:pending:"  # sorted set per shard: visitor id -> when it first waited
DRAINER_PREFIX = "alerts:scoring:drainer:"  # per shard: the token of the drain task that holds it

CHUNK = 20  # visitors taken from a shard at once (and the most scored in one transaction)
DRAIN_SECONDS = 1.0  # a drainer re-publishes itself after this, so a sweep queued behind it is not kept waiting
# A drainer holds its shard this long unless it renews it (it does before every chunk); a killed drainer's
# shard is free again after it, and the beat sweep scores what it left behind meanwhile.
DRAINER_TTL_MS = 15_000


def shard_of(visitor_id: int, shards: int) -> int:
    """The shard (and so the drainer) of a visitor: always the same one for the same number of shards."""
    return visitor_id % max(1, shards)


def by_shard(visitor_ids: Iterable[int], shards: int) -> dict[int, list[int]]:
    """Visitors grouped by shard, each once, in the order first given."""
    grouped: dict[int, list[int]] = {}
    seen: set[int] = set()
    for visitor_id in visitor_ids:
        if visitor_id in seen:
            continue
        seen.add(visitor_id)
        grouped.setdefault(shard_of(visitor_id, shards), []).append(visitor_id)
    return grouped


def pending_key(shard: int) -> str:
    return f"{PENDING_PREFIX}{shard}"


def drainer_key(shard: int) -> str:
    return f"{DRAINER_PREFIX}{shard}"


def keep_draining(*, started: float, now: float, budget: float = DRAIN_SECONDS) -> bool:
    """Whether a drainer takes another chunk or hands its shard on to a fresh task of itself (monotonic seconds)."""
    return now - started < budget
