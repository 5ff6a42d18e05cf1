"""Speed-to-lead buckets and exact percentile arithmetic. Pure: no database, no clock.

The daily lead rollup keeps, per row, the sorted answer times in seconds (for exact percentiles) and a
count per bucket below (for the distribution chart and the "answered within 5/15/60 minutes" shares).
Bucket upper bounds are inclusive: an answer at exactly 5:00 is "within 5 minutes". The alert rollup keeps
its times to claim and to act the same way, in the same buckets (`CLAIM_BUCKET_COLUMNS`, `ACT_BUCKET_COLUMNS`),
so their medians too sort one bucket's values, not every alert's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# Upper bound (seconds, inclusive) of each bucket; the last bucket is open-ended. Narrow where most answers
# fall, so the bucket a percentile lands in holds few values (SQL sorts only those); the edges include 5, 15
# and 60 minutes and 4 and 24 hours exactly, so "answered within" shares and the chart's bands are sums of
# whole buckets.
SPEED_BUCKET_EDGES: tuple[int, ...] = (
    *(s for s in range(30, 181, 30)),  # every 30 s to 3 min
    *(m * MINUTE for m in range(4, 16)),  # every minute to 15 min
    *(int(m * MINUTE) for m in (17.5, 20, 22.5, 25, 27.5, 30)),
    *(m * MINUTE for m in (35, 40, 45, 50, 55, 60, 75, 90, 120, 180, 240)),
    *(h * HOUR for h in (6, 8, 12, 24, 48, 96)),
)
SPEED_BUCKET_COUNT = len(SPEED_BUCKET_EDGES) + 1


def bucket_columns(prefix: str) -> tuple[str, ...]:
    """The count columns of one array's buckets: `<prefix>_b00` .. `<prefix>_b41`."""
    return tuple(f"{prefix}_b{i:02d}" for i in range(SPEED_BUCKET_COUNT))


SPEED_BUCKET_COLUMNS: tuple[str, ...] = bucket_columns("speed")
CLAIM_BUCKET_COLUMNS: tuple[str, ...] = bucket_columns("claim")  # alerts: seconds from raised to claimed
ACT_BUCKET_COLUMNS: tuple[str, ...] = bucket_columns("act")  # alerts: seconds from raised to acted on


def buckets_within(seconds: int) -> tuple[str, ...]:
    """The bucket columns whose answers all came within `seconds` (which must be a bucket edge)."""
    if seconds not in SPEED_BUCKET_EDGES:
        raise ValueError(f"{seconds} s is not a bucket edge; add it to SPEED_BUCKET_EDGES")
    last = SPEED_BUCKET_EDGES.index(seconds)
    return SPEED_BUCKET_COLUMNS[: last + 1]


def buckets_between(low_seconds: int, high_seconds: int | None) -> tuple[str, ...]:
    """Bucket columns for answers in (low, high]; high None means "and slower"."""
    first = SPEED_BUCKET_EDGES.index(low_seconds) + 1 if low_seconds else 0
    last = SPEED_BUCKET_EDGES.index(high_seconds) if high_seconds is not None else SPEED_BUCKET_COUNT - 1
    return SPEED_BUCKET_COLUMNS[first: last + 1]


def bucket_index(seconds: int) -> int:
    """Which bucket an answer time falls in (the same rule the rollup SQL uses)."""
    for i, edge in enumerate(SPEED_BUCKET_EDGES):
        if seconds <= edge:
            return i
    return SPEED_BUCKET_COUNT - 1


def bucket_bounds(index: int) -> tuple[int, int | None]:
    """(exclusive lower, inclusive upper) seconds of a bucket; the first bucket includes 0."""
    low = SPEED_BUCKET_EDGES[index - 1] if index > 0 else -1
    high = SPEED_BUCKET_EDGES[index] if index < len(SPEED_BUCKET_EDGES) else None
    return low, high


@dataclass(frozen=True)
class RankTarget:
    """Where the p-th percentile sits: the two neighbouring ranks (1-based) and the weight between them.

    This is PostgreSQL's percentile_cont: position h = p × (n − 1) in the sorted values (0-based),
    value = v[floor(h)] + (h − floor(h)) × (v[floor(h) + 1] − v[floor(h)]).
    """

    lower_rank: int
    upper_rank: int
    weight: float


def percentile_rank(fraction: float, n: int) -> RankTarget | None:
    if not 0 <= fraction <= 1:
        raise ValueError("a percentile fraction is between 0 and 1")
    if n <= 0:
        return None
    h = fraction * (n - 1)
    low = math.floor(h)
    return RankTarget(lower_rank=low + 1, upper_rank=min(low + 2, n), weight=h - low)


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """The same answer as SQL percentile_cont over `values` (used to check the SQL, and in tests)."""
    ordered = sorted(values)
    target = percentile_rank(fraction, len(ordered))
    if target is None:
        return None
    low, high = ordered[target.lower_rank - 1], ordered[target.upper_rank - 1]
    return low + target.weight * (high - low)


def locate_rank(bucket_counts: Sequence[int], rank: int) -> tuple[int, int]:
    """Find the bucket holding the `rank`-th smallest value (1-based) and the rank inside that bucket."""
    seen = 0
    for index, count in enumerate(bucket_counts):
        if rank <= seen + count:
            return index, rank - seen
        seen += count
    raise ValueError(f"rank {rank} is beyond the {seen} values counted")
