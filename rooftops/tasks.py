"""Celery doors for rooftops-wide upkeep."""

from celery import shared_task

from crm.idempotency import idempotency_keys_purge


@shared_task(ignore_result=True)
def idempotency_keys_purge_expired() -> None:
    idempotency_keys_purge()


@shared_task(ignore_result=True)
def deliver_webhook(delivery_id: int) -> str:
    """Send one webhook delivery now (a no-op when another worker has it, it is not due, or must wait its turn)."""
    from rooftops.webhooks import webhook_delivery_send

    return webhook_delivery_send(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def send_due_webhooks() -> int:
    """Beat: retries that are due, hand-overs that were lost, and deliveries a dead worker left in flight."""
    from rooftops.webhooks import webhook_deliveries_send_due

    return webhook_deliveries_send_due()


@shared_task(ignore_result=True)
def prune_webhook_deliveries() -> int:
    """Beat, daily: the delivery log keeps delivered rows WEBHOOK_LOG_RETENTION_DAYS."""
    from rooftops.webhooks import webhook_deliveries_prune

    return webhook_deliveries_prune()
