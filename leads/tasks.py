"""Celery doors for leads: thin, idempotent, loading state from the database."""

from celery import shared_task

from django.utils import timezone

from leads.inventory_feed import feed_run_execute, feeds_run_scheduled
from leads.services.clock import lead_clocks_sweep
from leads.services.new_leads import leads_adopt_unrouted


@shared_task(ignore_result=True)
def sweep_lead_clocks(batch_size: int = 50) -> dict:
    """Beat, every 15 s: route fresh leads other intakes left unrouted, then warn, reroute, assign or escalate
    every response clock that is due."""
    adopted = leads_adopt_unrouted(now=timezone.now())
    result = lead_clocks_sweep(batch_size=batch_size)
    return {"adopted": adopted, **vars(result)}


@shared_task(ignore_result=True)
def inventory_feed_run(run_id: int) -> None:
    """Load one inventory feed run (queued by inventory_feed.feed_run_start); progress and result on its row."""
    feed_run_execute(run_id=run_id)


@shared_task(ignore_result=True)
def inventory_feeds_scheduled() -> int:
    """Beat: queue a load of every store's feed URL."""
    return feeds_run_scheduled(now=timezone.now())
