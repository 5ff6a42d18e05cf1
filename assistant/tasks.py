"""Celery doors for the assistant. Thin: load by id, call the service."""

from celery import shared_task

from assistant.texts import text_answer


@shared_task(acks_late=True, ignore_result=True)
def answer_text(inbound_id: int) -> str:
    """Answer one inbound text with the assistant when nobody is working the shopper (idempotent)."""
    return text_answer(inbound_id=inbound_id)
