"""Celery doors for customers. Thin: load by id, call the service. Which queue each runs on: crm/queues.py."""

from celery import shared_task
from django.utils import timezone

from customers.messaging import outbound_message_send, outbound_messages_send_due


@shared_task(ignore_result=True)
def send_outbound_message(message_id: int) -> str:
    """Send one outbox message now (a no-op when another worker has it or it is not due)."""
    return outbound_message_send(message_id=message_id)


@shared_task(ignore_result=True)
def send_due_messages() -> int:
    """Beat: send messages whose quiet hours ended, retries, and any a dead worker left in flight."""
    return outbound_messages_send_due(now=timezone.now())


@shared_task(acks_late=True, ignore_result=True)
def erase_customer(record_id: int) -> None:
    """Carry out one deletion request (the message holds the record id only, never personal data)."""
    from customers.erasure import erase_customer as erase

    erase(record_id=record_id)


@shared_task(ignore_result=True)
def resume_erasures() -> int:
    """Beat: carry out erasures whose task was lost (Redis down at the hand-off) or whose worker died, and failed ones."""
    from customers.erasure import erasures_resume

    return erasures_resume(now=timezone.now())


@shared_task(ignore_result=True)
def retention_purge() -> int:
    """Beat, daily: finish erasures left behind, then erase customers unused past CUSTOMER_RETENTION_DAYS."""
    from django.conf import settings

    from customers.erasure import erasures_resume, retention_purge as purge

    now = timezone.now()
    erasures_resume(now=now)
    return len(purge(now=now, retention_days=settings.CUSTOMER_RETENTION_DAYS))
