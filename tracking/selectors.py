"""Reads for shopper tracking."""

from __future__ import annotations

import time

from rooftops.models import Rooftop

# Write keys are looked up on every collector request; a rotated key keeps working for at most this long.
WRITE_KEY_CACHE_SECONDS = 30.0
_WRITE_KEY_CACHE_MAX = 1000
_write_keys: dict[str, tuple[float, Rooftop]] = {}


def rooftop_for_write_key(key: str) -> Rooftop | None:
    """The rooftop whose website sends with this write key, or None."""
    if not key or len(key) > 64:
        return None
    cached = rooftop_for_write_key_cached(key)
    if cached is not None:
        return cached
    rooftop = Rooftop.objects.filter(tracking_write_key=key).only("id", "dealer_group_id", "slug", "time_zone").first()
    if rooftop is None:
        _write_keys.pop(key, None)
        return None
    if len(_write_keys) >= _WRITE_KEY_CACHE_MAX:
        _write_keys.clear()
    _write_keys[key] = (time.monotonic(), rooftop)
    return rooftop


def rooftop_for_write_key_cached(key: str) -> Rooftop | None:
    """The rooftop when this write key is in the cache (no query: callable on an event loop); else None."""
    hit = _write_keys.get(key)
    if hit is not None and time.monotonic() - hit[0] < WRITE_KEY_CACHE_SECONDS:
        return hit[1]
    return None


def write_key_cache_clear() -> None:
    _write_keys.clear()


def events_recent(*, rooftop_id: int, limit: int = 50):
    """The rooftop's newest events, for the live debugger."""
    from tracking.models import TrackedEvent

    return list(
        TrackedEvent.objects.for_rooftops([rooftop_id]).select_related("visitor", "customer").order_by("-id")[:limit]
    )
