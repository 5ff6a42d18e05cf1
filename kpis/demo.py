"""The dashboards' part of the demo: rollups built from the demo group's history at seed time, so the manager
sees figures at once (Celery beat keeps them current afterwards). Idempotent: a second run finds the rollups
agreeing with the source tables and changes nothing; if another app's demo added history since (alerts,
calls), the rooftop's rollups are rebuilt to include it."""

from django.db.models import Sum
from django.utils import timezone

from alerts.models import Alert
from customers.models import TimelineEntry
from kpis.models import ActivityDay, AlertDay, LeadDay, RollupState
from kpis.services import rollups_rebuild_all
from leads.models import Lead


def _rollups_agree(rooftop) -> bool:
    if not RollupState.objects.filter(rooftop=rooftop).exists():
        return False
    pairs = [
        (LeadDay.unscoped.filter(rooftop=rooftop, is_month=False).aggregate(n=Sum("leads"))["n"] or 0,
         Lead.objects.for_rooftops([rooftop.id]).count()),
        (AlertDay.unscoped.filter(rooftop=rooftop, is_month=False).aggregate(n=Sum("raised"))["n"] or 0,
         Alert.objects.for_rooftops([rooftop.id]).filter(parent__isnull=True).count()),
        (ActivityDay.unscoped.filter(rooftop=rooftop, is_month=False)
         .aggregate(n=Sum("calls") + Sum("texts") + Sum("emails"))["n"] or 0,
         TimelineEntry.objects.for_rooftops([rooftop.id])
         .filter(kind__in=["call", "text", "email"], actor__isnull=False).count()),
    ]
    return all(built == source for built, source in pairs)


def seed(ctx) -> None:
    for rooftop in ctx.rooftops.values():
        if not _rollups_agree(rooftop):
            rollups_rebuild_all(rooftop=rooftop, now=timezone.now())
