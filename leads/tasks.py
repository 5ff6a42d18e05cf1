"""Celery doors for leads: thin, idempotent, loading state from the database."""

from celery import shared_task

from leads.services import lead_clocks_sweep


@shared_task(ignore_result=True)
def sweep_lead_clocks(batch_size: int = 50) -> dict:
    """Beat, every 15 s: warn, reroute, assign or escalate every response clock that is due."""
    result = lead_clocks_sweep(batch_size=batch_size)
    return vars(result)
