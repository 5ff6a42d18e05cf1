"""Celery doors for rooftops-wide upkeep."""

from celery import shared_task

from crm.idempotency import idempotency_keys_purge


@shared_task(ignore_result=True)
def idempotency_keys_purge_expired() -> None:
    idempotency_keys_purge()
