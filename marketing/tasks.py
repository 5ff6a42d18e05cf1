"""Celery doors for campaigns and price drops. Thin: load by id, call the run; the beat starts scheduled campaigns,
resumes lost ones, and sends price drops whose hint was lost."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import OperationalError, connection
from django.db.models import Q
from django.utils import timezone

from marketing import price_drops
from marketing.models import Campaign
from marketing.sending import campaign_run

# A sending campaign whose worker has not written a chunk for this long lost its worker (killed, or its task
# message lost); the beat queues it again and the run goes on with the recipients still pending.
LOST_AFTER = timedelta(minutes=5)
PRICE_DROP_SWEEP_LOCK = 0x70647377  # "pdsw": one sweep at a time even if beat fires while the last one still runs


# acks_late: a worker killed mid-run leaves the message unacknowledged and the broker delivers it again; a
# second delivery while the first still runs finds the advisory lock taken and returns at once.
@shared_task(acks_late=True, ignore_result=True)
def campaign_send(campaign_id: int) -> str:
    try:
        return campaign_run(campaign_id=campaign_id)
    except Exception as exc:
        # Left in "sending": the beat resumes it once its heartbeat is old; meanwhile the page says why it paused.
        Campaign.unscoped.filter(pk=campaign_id, status=Campaign.Status.SENDING).update(
            error=f"Sending stopped on an error and will be retried within minutes ({exc.__class__.__name__}).")
        raise


@shared_task(ignore_result=True)
def campaigns_due() -> int:
    """Beat, every minute: start scheduled campaigns whose time came, and resume sending ones gone silent."""
    now = timezone.now()
    # The standing price-drop campaign of each store is sent by marketing.price_drops, not by this run.
    campaigns = Campaign.unscoped.filter(kind=Campaign.Kind.CAMPAIGN)
    due = list(campaigns.filter(status=Campaign.Status.SCHEDULED, send_at__lte=now)
               .values_list("pk", flat=True))
    # The status moves only if it is still "scheduled": a manager who cancels in the same second wins.
    started = [pk for pk in due if Campaign.unscoped.filter(pk=pk, status=Campaign.Status.SCHEDULED).update(
        status=Campaign.Status.SENDING, heartbeat_at=now)]
    cutoff = now - LOST_AFTER
    lost = list(campaigns.filter(status=Campaign.Status.SENDING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, updated_at__lt=cutoff)).values_list("pk", flat=True))
    for pk in dict.fromkeys([*started, *lost]):
        campaign_send.delay(pk)
    return len(started) + len(lost)


# The price-drop tasks keep the names they were registered under when they lived in marketing/price_drop_tasks.py:
# messages already queued under those names (and crm.queues' routes, the beat entry) still find them.
@shared_task(name="marketing.price_drop_tasks.price_drop_dispatch", acks_late=True,
             autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=30, max_retries=5)
def price_drop_dispatch(price_change_id: int) -> int | None:
    """Queued after a drop commits (leads.inventory); the sweep does the same if this hint is lost."""
    report = price_drops.price_drop_dispatch(price_change_id=price_change_id)
    return report.queued if report else None


@shared_task(name="marketing.price_drop_tasks.sweep", ignore_result=True)
def price_drops_sweep() -> dict:
    """Every minute (marketing/beat.py): drops of the last 30 minutes whose messages are not written yet."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [PRICE_DROP_SWEEP_LOCK])
        if not cursor.fetchone()[0]:
            return {"skipped": "another sweep is running"}
    try:
        return {"dispatched": price_drops.price_drops_sweep()}
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [PRICE_DROP_SWEEP_LOCK])
