"""Refused collector requests, kept briefly for the manager's live debugger.

A capped Redis list per rooftop (LPUSH + LTRIM): junk traffic can never grow a table, and losing this
list (Redis restart) loses only debugging help, never an event. Requests whose write key is missing or
unknown cannot be tied to a store; they go to one shared list that no manager page shows.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from typing import Any

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

KEEP_PER_ROOFTOP = 200
PREVIEW_CHARS = 500
_client: redis.Redis | None = None
_client_lock = threading.Lock()


def _redis() -> redis.Redis:
    global _client
    # Under a lock: two pool threads recording their first refusals at once each made a client, and the one
    # replaced was closed when collected, with the other thread's connection in it (a 500, not a 4xx).
    with _client_lock:
        if _client is None:
            # Short timeouts: recording a refusal must never slow the answer to the sender much.
            _client = redis.Redis.from_url(settings.CACHE_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
        return _client


def _key(rooftop_id: int | None) -> str:
    return f"tracking:rejections:{rooftop_id if rooftop_id is not None else 'unknown'}"


def preview(body: bytes) -> str:
    """The start of what was sent, readable even when it is not UTF-8."""
    return body[: PREVIEW_CHARS * 2].decode("utf-8", errors="replace")[:PREVIEW_CHARS]


def rejection_record(
    *, rooftop_id: int | None, status: int, code: str, reason: str, path: str, size: int, body_preview: str,
    received_at: datetime, origin: str = "", user_agent: str = "",
) -> None:
    entry = {
        "status": status, "code": code, "reason": reason[:500], "path": path[:100], "size": size,
        "preview": body_preview[:PREVIEW_CHARS], "received_at": received_at.isoformat(), "origin": origin[:200],
        "user_agent": user_agent[:200],
    }
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.lpush(_key(rooftop_id), json.dumps(entry))
        pipe.ltrim(_key(rooftop_id), 0, KEEP_PER_ROOFTOP - 1)
        pipe.execute()
    except redis.RedisError:
        logger.warning("could not record a rejected collector request (%s %s)", status, reason[:100])


def rejections_recent(*, rooftop_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first; empty when Redis is unreachable."""
    try:
        raw = _redis().lrange(_key(rooftop_id), 0, max(0, limit - 1))
    except redis.RedisError:
        return []
    entries = []
    for item in raw:
        try:
            entry = json.loads(item)
            entry["received_at"] = datetime.fromisoformat(entry["received_at"])
            entries.append(entry)
        except (ValueError, KeyError, TypeError):
            continue
    return entries


def rejections_clear(*, rooftop_id: int) -> None:
    try:
        _redis().delete(_key(rooftop_id))
    except redis.RedisError:
        pass
