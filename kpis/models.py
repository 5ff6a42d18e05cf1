"""Rollup tables behind the manager dashboards.

Each row counts what happened at one rooftop on one *local* day (the rooftop's time zone), for one lead
source and one person. They are derived data: `kpis.services.rollups_rebuild` replaces a rooftop's days
from the source tables in one SQL statement per table, Celery keeps today and the recent past current
(`kpis/beat.py`), and `manage.py kpis_rebuild` rebuilds everything. Dashboards read only these tables
(plus indexed raw tables for drill-down lists), so a year of a large group answers from a few hundred
thousand narrow rows instead of millions of leads, appointments and timeline entries.

`person_id` is a plain integer, not a foreign key: a rollup must not block deleting a user, and a row for a
person who left still belongs in last year's totals. What "source" and "person" mean differs per table and
is spelled out in `kpis/definitions.py`.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from rooftops.models import Rooftop
from rooftops.tenancy import RooftopScopedManager
from kpis.speed import SPEED_BUCKET_COLUMNS


class Rollup(models.Model):
    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()  # local date in the rooftop's time zone
    source = models.CharField(max_length=12, blank=True)  # "" = no lead behind it
    person_id = models.BigIntegerField(null=True, blank=True)

    unscoped = models.Manager()
    objects = RooftopScopedManager()

    class Meta:
        abstract = True
        base_manager_name = "unscoped"
        default_manager_name = "unscoped"


class LeadDay(Rollup):
    """Leads received per rooftop × day × source × assigned person, and what became of them so far."""

    leads = models.IntegerField(default=0)
    speed_eligible = models.IntegerField(default=0)  # leads whose speed counts (not walk-ins)
    answered = models.IntegerField(default=0)  # eligible leads with a first human attempt
    # Sorted answer times in whole seconds: exact percentiles without touching the leads table.
    speed_seconds = ArrayField(models.IntegerField(), default=list, blank=True)
    with_appointment = models.IntegerField(default=0)
    shown = models.IntegerField(default=0)
    sold = models.IntegerField(default=0)
    shown_sold = models.IntegerField(default=0)

    class Meta(Rollup.Meta):
        db_table = "kpis_lead_day"
        constraints = [
            models.UniqueConstraint(
                fields=["rooftop", "day", "source", "person_id"], name="lead_day_once", nulls_distinct=False
            )
        ]
        indexes = [models.Index(fields=["rooftop", "day"], name="lead_day_rooftop_day")]


for _column in SPEED_BUCKET_COLUMNS:
    LeadDay.add_to_class(_column, models.IntegerField(default=0))


class AppointmentDay(Rollup):
    """Sales appointments per rooftop × scheduled day × lead source × person (the appointment's, else the lead's)."""

    scheduled = models.IntegerField(default=0)
    cancelled = models.IntegerField(default=0)
    due = models.IntegerField(default=0)  # not cancelled and the time has come (as of the build)
    shown = models.IntegerField(default=0)
    no_show = models.IntegerField(default=0)

    class Meta(Rollup.Meta):
        db_table = "kpis_appointment_day"
        constraints = [
            models.UniqueConstraint(
                fields=["rooftop", "day", "source", "person_id"], name="appointment_day_once", nulls_distinct=False
            )
        ]
        indexes = [models.Index(fields=["rooftop", "day"], name="appointment_day_rooftop_day")]


class ActivityDay(Rollup):
    """Calls, texts and emails logged by a person per rooftop × day × lead source."""

    calls = models.IntegerField(default=0)
    texts = models.IntegerField(default=0)
    emails = models.IntegerField(default=0)

    class Meta(Rollup.Meta):
        db_table = "kpis_activity_day"
        constraints = [
            models.UniqueConstraint(
                fields=["rooftop", "day", "source", "person_id"], name="activity_day_once", nulls_distinct=False
            )
        ]
        indexes = [models.Index(fields=["rooftop", "day"], name="activity_day_rooftop_day")]


class AlertDay(Rollup):
    """Alerts raised per rooftop × day × kind × lead source × person (who claimed it, else who it was for)."""

    kind = models.CharField(max_length=40)
    raised = models.IntegerField(default=0)
    claimed = models.IntegerField(default=0)
    acted = models.IntegerField(default=0)
    claim_seconds = ArrayField(models.IntegerField(), default=list, blank=True)
    act_seconds = ArrayField(models.IntegerField(), default=list, blank=True)
    led_to_lead = models.IntegerField(default=0)
    led_to_appointment = models.IntegerField(default=0)
    led_to_sale = models.IntegerField(default=0)

    class Meta(Rollup.Meta):
        db_table = "kpis_alert_day"
        constraints = [
            models.UniqueConstraint(
                fields=["rooftop", "day", "kind", "source", "person_id"], name="alert_day_once", nulls_distinct=False
            )
        ]
        indexes = [models.Index(fields=["rooftop", "day"], name="alert_day_rooftop_day")]


class RerouteDay(Rollup):
    """Reroutes per rooftop × day × lead source × the person the lead was taken from.

    Filled only once lead routing records its history (`leads.LeadReroute`); empty until then.
    """

    reroutes = models.IntegerField(default=0)
    missed_deadlines = models.IntegerField(default=0)

    class Meta(Rollup.Meta):
        db_table = "kpis_reroute_day"
        constraints = [
            models.UniqueConstraint(
                fields=["rooftop", "day", "source", "person_id"], name="reroute_day_once", nulls_distinct=False
            )
        ]
        indexes = [models.Index(fields=["rooftop", "day"], name="reroute_day_rooftop_day")]


class RollupState(models.Model):
    """When a rooftop's rollups were last brought up to date: the page says how fresh its numbers are."""

    rooftop = models.OneToOneField(Rooftop, on_delete=models.CASCADE, related_name="+", primary_key=True)
    refreshed_at = models.DateTimeField(default=timezone.now)
    first_day = models.DateField(null=True, blank=True)  # earliest day ever rebuilt
    full_rebuild_at = models.DateTimeField(null=True, blank=True)
