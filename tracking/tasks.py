"""Celery tasks for shopper tracking: thin doors onto tracking.partitions."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from tracking.partitions import events_retention_apply, partitions_ensure


@shared_task(ignore_result=True)
def partitions_maintain() -> dict:
    """Month partitions ahead, and the retention applied. Idempotent: safe to run as often as wanted."""
    now = timezone.now()
    created = partitions_ensure(now=now)
    result = events_retention_apply(now=now, retention_days=settings.TRACKING_EVENT_RETENTION_DAYS)
    return {"created": created, "dropped": list(result.partitions_dropped),
            "default_rows_deleted": result.default_rows_deleted,
            "received_messages_deleted": result.received_messages_deleted}
