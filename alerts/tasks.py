"""Celery doors into the scoring and alert services: load by id, call one service, own the retries."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict

from celery import shared_task
from django.db import OperationalError, connection

from alerts import coalescing, pending, services

SWEEP_LOCK = 0x616C7377  # "alsw": one sweep at a time even if beat fires while the last one still runs


def score_soon(visitor_ids: Sequence[int]) -> None:
    """Ask for stored visitors to be scored (tracking.services, after commit, on the hand-off thread).

    The visitors join their shards' pending sets; a drain task is published only for a shard that has no
    drainer, so a burst of batches is a handful of tasks. Raises when Redis fails: the sweep scores them later.
    """
    for shard, token in pending.hint(visitor_ids, now=time.time()):
        score_pending.delay(shard, token)


@shared_task(acks_late=True, ignore_result=True)
def score_pending(shard: int, token: int) -> int:
    """Score the visitors waiting in one shard until none is left, for about DRAIN_SECONDS at a time.

    Past that it hands the shard to a fresh task of itself at the back of the queue (a sweep waiting behind it
    runs meanwhile) and returns. `token` is the hold on the shard the hint took for it: a drainer whose hold
    expired (it stalled, or was delivered again after its worker died) finds another holding the shard and
    ends; if nobody does, it takes the shard again and goes on.
    """
    if not pending.claim(shard, token):
        return 0
    started = time.monotonic()
    scored = 0
    try:
        while True:
            visitor_ids = pending.take(shard)
            if not visitor_ids:
                if pending.release(shard, token):  # visitors arrived while it looked: still ours, go on
                    continue
                return scored
            outcomes = services.visitors_score_events(visitor_ids=visitor_ids)
            scored += sum(o.events_scored for o in outcomes)
            # A `busy` shopper is not put back: the link or merge holding their events hints them on commit,
            # and putting them back would spin this drainer on them until then.
            pending.put_back(shard, [o.visitor_id for o in outcomes if o.more], now=time.time())
            if not pending.claim(shard, token):  # held too long and taken over: the new drainer goes on
                return scored
            if not coalescing.keep_draining(started=started, now=time.monotonic()):
                score_pending.delay(shard, token)
                return scored
    except Exception:
        # Not stranded: a shard with visitors still waiting keeps its hold and a fresh drainer; the visitors
        # this one took and failed are the sweep's.
        if pending.release(shard, token):
            score_pending.delay(shard, token)
        raise


# Kept for tasks queued by an older release (one per visitor); new hints go through score_soon.
@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=30, max_retries=5)
def score_visitor_events(visitor_id: int) -> int:
    """Fold a visitor's newly stored events into their intent (one bounded batch, then queue itself again)."""
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
