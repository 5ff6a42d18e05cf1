"""Celery doors into marketing.price_drops: the hint after a drop commits, and the minute's sweep."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError, connection

from marketing import price_drops

SWEEP_LOCK = 0x70647377  # "pdsw": one sweep at a time even if beat fires while the last one still runs


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=30, max_retries=5)
def price_drop_dispatch(price_change_id: int) -> int | None:
    """Queued after a drop commits (leads.inventory); the sweep does the same if this hint is lost."""
    report = price_drops.price_drop_dispatch(price_change_id=price_change_id)
    return report.queued if report else None


@shared_task(ignore_result=True)
def sweep() -> dict:
    """Every minute (marketing/beat.py): drops of the last 30 minutes whose messages are not written yet."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SWEEP_LOCK])
        if not cursor.fetchone()[0]:
            return {"skipped": "another sweep is running"}
    try:
        return {"dispatched": price_drops.price_drops_sweep()}
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SWEEP_LOCK])
