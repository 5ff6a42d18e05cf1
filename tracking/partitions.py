"""Monthly partitions of `tracking_event` (PostgreSQL declarative partitioning by received_at, UTC months).

Partitions are made ahead (this month and the next two) so that inserts land in a month partition; the
DEFAULT partition catches anything outside them (a clock far off, a missed maintenance run), so an insert
never fails and every row is still found through the parent table. When a month partition is created for
a range that already has rows in the default partition, those rows are moved into it in the same
transaction. Retention drops whole month partitions, which is cheap, instead of deleting rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from django.db import connection, transaction

PARENT = "tracking_event"
DEFAULT = "tracking_event_default"
_NAME = re.compile(r"^tracking_event_y(\d{4})m(\d{2})$")


@dataclass(frozen=True)
class MonthPartition:
    name: str
    starts: datetime  # inclusive, UTC
    ends: datetime  # exclusive, UTC


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(timezone.utc)
    return datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)


def add_months(start: datetime, months: int) -> datetime:
    index = start.year * 12 + start.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=timezone.utc)


def month_partition(starts: datetime) -> MonthPartition:
    return MonthPartition(f"{PARENT}_y{starts.year:04d}m{starts.month:02d}", starts, add_months(starts, 1))


def partitions_wanted(*, now: datetime, months_back: int = 0, months_ahead: int = 2) -> list[MonthPartition]:
    """The month partitions that should exist: from `months_back` before this month to `months_ahead` after."""
    this_month = month_start(now)
    return [month_partition(add_months(this_month, n)) for n in range(-months_back, months_ahead + 1)]


def partitions_expired(existing: list[MonthPartition], *, cutoff: datetime) -> list[MonthPartition]:
    """Partitions whose every row is older than the cutoff."""
    return [p for p in existing if p.ends <= cutoff]


def partitions_existing() -> list[MonthPartition]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = %s
            """,
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = []
    for name in names:
        match = _NAME.match(name)
        if match:
            found.append(month_partition(datetime(int(match[1]), int(match[2]), 1, tzinfo=timezone.utc)))
    return sorted(found, key=lambda p: p.starts)


def partitions_ensure(*, now: datetime, months_back: int = 0, months_ahead: int = 2) -> list[str]:
    """Create the missing month partitions; returns the names created."""
    existing = {p.name for p in partitions_existing()}
    created = []
    for partition in partitions_wanted(now=now, months_back=months_back, months_ahead=months_ahead):
        if partition.name not in existing:
            _partition_create(partition)
            created.append(partition.name)
    return created


def _partition_create(partition: MonthPartition) -> None:
    bounds = [partition.starts, partition.ends]
    with transaction.atomic(), connection.cursor() as cursor:
        # Serialize with a concurrent maintenance run (two beat schedulers, or migrate during a run).
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('tracking_event_partitions'))")
        cursor.execute("SELECT to_regclass(%s)", [partition.name])
        if cursor.fetchone()[0] is not None:
            return
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE received_at >= %s AND received_at < %s)", bounds
        )
        if not cursor.fetchone()[0]:
            cursor.execute(
                f"CREATE TABLE {partition.name} PARTITION OF {PARENT} FOR VALUES FROM (%s) TO (%s)", bounds
            )
            return
        # PostgreSQL refuses a new partition whose range has rows in the default partition: detach the
        # default, create the month, move its rows through the parent, and attach the default again.
        cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {DEFAULT}")
        cursor.execute(f"CREATE TABLE {partition.name} PARTITION OF {PARENT} FOR VALUES FROM (%s) TO (%s)", bounds)
        cursor.execute(
            f"""
            WITH moved AS (
                DELETE FROM {DEFAULT} WHERE received_at >= %s AND received_at < %s RETURNING *
            )
            INSERT INTO {PARENT} SELECT * FROM moved
            """,
            bounds,
        )
        cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {DEFAULT} DEFAULT")


@dataclass(frozen=True)
class RetentionResult:
    partitions_dropped: tuple[str, ...]
    default_rows_deleted: int
    received_messages_deleted: int


def events_retention_apply(*, now: datetime, retention_days: int, chunk: int = 20_000) -> RetentionResult:
    """Drop month partitions older than the retention, and old rows of the default partition and of the
    messageId ledger (a retry older than the events it would duplicate no longer matters)."""
    cutoff = now - timedelta(days=retention_days)
    dropped = []
    for partition in partitions_expired(partitions_existing(), cutoff=cutoff):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('tracking_event_partitions'))")
            cursor.execute(f"DROP TABLE IF EXISTS {partition.name}")
        dropped.append(partition.name)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DEFAULT} WHERE received_at < %s", [cutoff])
        default_deleted = cursor.rowcount
    ledger_deleted = 0
    while True:
        # In chunks: one huge DELETE would hold locks and bloat WAL on a busy collector.
        with connection.cursor() as cursor:
            cursor.execute(
                """
                DELETE FROM tracking_receivedmessage WHERE id IN (
                    SELECT id FROM tracking_receivedmessage WHERE received_at < %s LIMIT %s
                )
                """,
                [cutoff, chunk],
            )
            ledger_deleted += cursor.rowcount
            if cursor.rowcount < chunk:
                break
    return RetentionResult(tuple(dropped), default_deleted, ledger_deleted)
