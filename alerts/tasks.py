"""Celery doors into the scoring and alert services: load by id, call one service, own the retries."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task
from django.db import OperationalError, connection

from alerts import services

SWEEP_LOCK = 0x616C7377  # "alsw": one sweep at a time even if beat fires while the last one still runs


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=30, max_retries=5)
def score_visitor_events(visitor_id: int) -> int:
    """Fold a visitor's newly stored events into their intent; queued by tracking.services.events_record."""
    outcome = services.visitor_score_events(visitor_id=visitor_id)
    if outcome.more:
        # A long backlog is scored in bounded batches so one shopper never holds a worker for long.
        score_visitor_events.delay(visitor_id)
    return outcome.events_scored


@shared_task(ignore_result=True)
def sweep() -> dict:
    """Every ~10 s (alerts/beat.py): unscored events, abandoned forms, price drops, expiry, snoozes, re-pushes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SWEEP_LOCK])
        if not cursor.fetchone()[0]:
            return {"skipped": "another sweep is running"}
    try:
        return asdict(services.alerts_sweep())
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SWEEP_LOCK])


# Not retried: a failed fit is recorded on its run for the manager to see, and they choose whether to fit again.
@shared_task(ignore_result=True)
def scoring_fit(fit_id: int) -> None:
    """Fit a store's event weights to its sales; queued by services.scoring_fit_start, progress on the run row."""
    services.scoring_fit_execute(fit_id=fit_id)
