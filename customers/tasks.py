"""Celery doors for customers. Thin: load by id, call the service."""

from celery import shared_task

from customers.services import web_sessions_refresh


@shared_task(acks_late=True, ignore_result=True)
def refresh_web_sessions(customer_id: int) -> int:
    """For the tracking pipeline: fold a customer's newest web events into timeline sessions (idempotent)."""
    return web_sessions_refresh(customer_id=customer_id)
