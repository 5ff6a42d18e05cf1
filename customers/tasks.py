"""Celery doors for customer messaging: load by id, call the service. Queue "messages" keeps texts off scoring."""

from celery import shared_task
from django.utils import timezone

from customers.messaging import outbound_message_send, outbound_messages_send_due


@shared_task(queue="messages", ignore_result=True)
def send_outbound_message(message_id: int) -> str:
    """Send one outbox message now (a no-op when another worker has it or it is not due)."""
    return outbound_message_send(message_id=message_id)


@shared_task(queue="messages", ignore_result=True)
def send_due_messages() -> int:
    """Beat: send messages whose quiet hours ended, retries, and any a dead worker left in flight."""
    return outbound_messages_send_due(now=timezone.now())
