"""Celery doors for leads: thin, idempotent, loading state from the database."""

from celery import shared_task

from django.utils import timezone

from leads.services.clock import lead_clocks_sweep
from leads.services.new_leads import leads_adopt_unrouted


@shared_task(ignore_result=True)
def sweep_lead_clocks(batch_size: int = 50) -> dict:
    """Beat, every 15 s: route fresh leads other intakes left unrouted, then warn, reroute, assign or escalate
    every response clock that is due."""
    adopted = leads_adopt_unrouted(now=timezone.now())
    result = lead_clocks_sweep(batch_size=batch_size)
    return {"adopted": adopted, **vars(result)}
