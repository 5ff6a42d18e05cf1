"""Celery doors to the rollup rebuild: each loads a rooftop by id and calls the service."""

from celery import shared_task
from django.utils import timezone

from kpis import conf
from kpis.services import rollups_rebuild_all, rollups_refresh_recent
from rooftops.models import Rooftop


@shared_task(ignore_result=True)
def rollups_refresh_all(days: int = conf.RECENT_REFRESH_DAYS) -> None:
    """Fan out: one task per rooftop, so one slow store never holds up the others."""
    for rooftop_id in Rooftop.objects.values_list("id", flat=True):
        rollups_refresh_rooftop.delay(rooftop_id, days)


@shared_task(ignore_result=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=3)
def rollups_refresh_rooftop(rooftop_id: int, days: int) -> None:
    rooftop = Rooftop.objects.filter(id=rooftop_id).first()
    if rooftop is not None:
        rollups_refresh_recent(rooftop=rooftop, days=days, now=timezone.now())


@shared_task(ignore_result=True)
def rollups_rebuild_nightly(days: int = conf.NIGHTLY_REBUILD_DAYS) -> None:
    for rooftop_id in Rooftop.objects.values_list("id", flat=True):
        rollups_rebuild_rooftop.delay(rooftop_id, days)


@shared_task(ignore_result=True, autoretry_for=(Exception,), retry_backoff=60, max_retries=3)
def rollups_rebuild_rooftop(rooftop_id: int, days: int | None) -> None:
    rooftop = Rooftop.objects.filter(id=rooftop_id).first()
    if rooftop is not None:
        rollups_rebuild_all(rooftop=rooftop, now=timezone.now(), days=days)
