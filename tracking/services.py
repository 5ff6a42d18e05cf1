"""Writes for shopper tracking: store collector messages durably, then hand scoring to Celery."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from psycopg.types.json import Jsonb

from rooftops.models import Rooftop
from tracking.messages import Message

logger = logging.getLogger(__name__)

EVENT_COLUMNS = (
    "received_at", "rooftop_id", "visitor_id", "customer_id", "message_id", "type", "event", "occurred_at",
    "sent_at", "vin", "properties", "traits", "context",
)


@dataclass(frozen=True)
class RecordResult:
    stored: int
    duplicates: int
    visitor_ids: tuple[int, ...]


def events_record(*, rooftop: Rooftop, messages: Sequence[Message], received_at: datetime) -> RecordResult:
    """Store messages once each (by messageId), upserting their visitors; scoring is queued after commit.

    The rows are in PostgreSQL before the caller answers 200; the Celery hand-off happens only after commit,
    and if Redis is down the beat sweep of unscored events picks them up later, so nothing is lost.
    """
    if not messages:
        return RecordResult(stored=0, duplicates=0, visitor_ids=())
    # Within one request a retried message may also appear twice: keep the first.
    unique: dict[str, Message] = {}
    for message in messages:
        unique.setdefault(message.message_id, message)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tracking_receivedmessage (rooftop_id, message_id, received_at)
            SELECT %s, m, %s FROM unnest(%s::text[]) AS m
            ON CONFLICT (rooftop_id, message_id) DO NOTHING
            RETURNING message_id
            """,
            [rooftop.id, received_at, list(unique)],
        )
        fresh = {row[0] for row in cursor.fetchall()}
        new_messages = [m for m in unique.values() if m.message_id in fresh]
        if not new_messages:
            return RecordResult(stored=0, duplicates=len(messages), visitor_ids=())
        visitors = _visitors_upsert(cursor, rooftop_id=rooftop.id, messages=new_messages)
        with cursor.cursor.copy(f"COPY tracking_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for m in new_messages:
                visitor_id, customer_id = visitors[m.visitor_key]
                copy.write_row((
                    received_at, rooftop.id, visitor_id, customer_id, m.message_id, m.type, m.event, m.occurred_at,
                    m.sent_at, m.vin, Jsonb(dict(m.properties)), Jsonb(dict(m.traits)), Jsonb(dict(m.context)),
                ))
        visitor_ids = tuple(sorted({v[0] for v in visitors.values()}))
        transaction.on_commit(lambda: _queue_scoring(visitor_ids))
    return RecordResult(stored=len(new_messages), duplicates=len(messages) - len(new_messages), visitor_ids=visitor_ids)


def _visitors_upsert(cursor, *, rooftop_id: int, messages: Sequence[Message]) -> dict[str, tuple[int, int | None]]:
    last_seen: dict[str, datetime] = {}
    first_seen: dict[str, datetime] = {}
    user_ids: dict[str, str] = {}
    for m in messages:
        key = m.visitor_key
        last_seen[key] = max(last_seen.get(key, m.occurred_at), m.occurred_at)
        first_seen[key] = min(first_seen.get(key, m.occurred_at), m.occurred_at)
        if m.user_id:
            user_ids[key] = m.user_id
    keys = sorted(last_seen)
    cursor.execute(
        """
        INSERT INTO tracking_visitor (rooftop_id, anonymous_id, user_id, first_seen_at, last_seen_at)
        SELECT %s, k, u, f, l FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[]) AS t(k, u, f, l)
        ON CONFLICT (rooftop_id, anonymous_id) DO UPDATE SET
            last_seen_at = GREATEST(tracking_visitor.last_seen_at, EXCLUDED.last_seen_at),
            user_id = CASE WHEN EXCLUDED.user_id <> '' THEN EXCLUDED.user_id ELSE tracking_visitor.user_id END
        RETURNING anonymous_id, id, customer_id
        """,
        [rooftop_id, keys, [user_ids.get(k, "") for k in keys], [first_seen[k] for k in keys],
         [last_seen[k] for k in keys]],
    )
    return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def _queue_scoring(visitor_ids: Sequence[int]) -> None:
    try:
        from alerts.tasks import score_visitor_events
    except ImportError:  # scoring not installed: events wait for it, nothing is lost
        return
    for visitor_id in visitor_ids:
        try:
            score_visitor_events.apply_async(args=[visitor_id], queue="scoring")
        except Exception:  # noqa: BLE001 - Redis down: the beat sweep of unscored events catches up
            logger.warning("could not queue scoring for visitor %s; the sweep will pick it up", visitor_id)
