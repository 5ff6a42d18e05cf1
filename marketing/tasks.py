"""Celery doors for campaigns. Thin: load by id, call the run; the beat starts scheduled ones and resumes lost ones."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from marketing.models import Campaign
from marketing.sending import campaign_run

# A sending campaign whose worker has not written a chunk for this long lost its worker (killed, or its task
# message lost); the beat queues it again and the run goes on with the recipients still pending.
LOST_AFTER = timedelta(minutes=5)


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
    due = list(Campaign.unscoped.filter(status=Campaign.Status.SCHEDULED, send_at__lte=now)
               .values_list("pk", flat=True))
    # The status moves only if it is still "scheduled": a manager who cancels in the same second wins.
    started = [pk for pk in due if Campaign.unscoped.filter(pk=pk, status=Campaign.Status.SCHEDULED).update(
        status=Campaign.Status.SENDING, heartbeat_at=now)]
    cutoff = now - LOST_AFTER
    lost = list(Campaign.unscoped.filter(status=Campaign.Status.SENDING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, updated_at__lt=cutoff)).values_list("pk", flat=True))
    for pk in dict.fromkeys([*started, *lost]):
        campaign_send.delay(pk)
    return len(started) + len(lost)
