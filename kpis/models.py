"""Rollup tables behind the manager dashboards.

Each row counts what happened at one rooftop on one *local* day (the rooftop's time zone). They are derived
data: `kpis.services.rollups_rebuild` replaces a rooftop's days from the source tables in SQL, Celery keeps
today and the recent past current (`kpis/beat.py`), and `manage.py kpis_rebuild` rebuilds everything.
Dashboards read only these tables (drill-down lists read the indexed source tables).

Grains. A fact is kept at its full grain (rooftop × day × source × person, plus alert kind) and, where it
is large, at coarser grains built from it: rooftop × day alone (totals, rooftops, trends: 3,650 rows for a
year of ten rooftops instead of ~150 thousand), without the person (sources) and without the source
(the leaderboard).
The reader picks the smallest grain that still has every key a figure groups or filters by.

`person_id` is a plain integer, not a foreign key: a rollup must not block deleting a user, and a person who
left still belongs in last year's totals. What "source" and "person" mean per fact is in `kpis/definitions.py`.

Months. Every table also holds month rows (`is_month`, day = the 1st): the sums and merged arrays of that
calendar month's day rows, rebuilt with them. A period reads whole months from month rows and the days
at its ends from day rows, so a year costs about 12 rows per key instead of 365.

Speed to lead. `speed_seconds` holds the row's answer times sorted, `speed_b00..b21` how many fall in each
bucket of `kpis.speed`, and `speed_cum` the running total of those counts (speed_cum[i + 1] = answers in
buckets before i, 1-based SQL arrays). Together they let SQL cut one bucket's values out of each row's
sorted array (`speed_seconds[speed_cum[b + 1] + 1 : speed_cum[b + 2]]`) without unnesting the others: exact
percentiles that sort only the bucket the percentile falls in. Alert rows keep their times to claim and to act
the same way (`claim_b00..`, `claim_cum`; `act_b00..`, `act_cum`), in the same buckets.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from kpis.speed import ACT_BUCKET_COLUMNS, CLAIM_BUCKET_COLUMNS, SPEED_BUCKET_COLUMNS
from rooftops.models import Rooftop
from rooftops.tenancy import TenantModel


def _seconds_array(**options):
    # The sorted time arrays (speed_seconds, claim_seconds, act_seconds) are stored uncompressed (STORAGE
    # EXTERNAL, migration 0009; Django has no field option for it): a compressed array is decompressed whole
    # for every bucket slice cut from it. tests/kpis/test_sorted_arrays_storage.py checks the columns.
    return ArrayField(models.IntegerField(), default=list, blank=True, **options)




class Rollup(TenantModel):
    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()  # local date in the rooftop's time zone; the 1st for a month row
    # Month rows sum a calendar month's day rows: a long period reads whole months from them.
    is_month = models.BooleanField(default=False, db_default=False)

    class Meta(TenantModel.Meta):
        abstract = True


def _grain_meta(table: str, keys: list[str]):
    """Meta of one grain: unique per rooftop, day and keys; indexed for the scope and for a person filter."""
    short = table.removeprefix("kpis_")
    indexes = [models.Index(fields=["rooftop", "day"], name=f"{short}_rt_day"[:30])]
    if "person_id" in keys:
        indexes.append(models.Index(fields=["person_id", "day"], name=f"{short}_person_day"[:30]))
    return type("Meta", (TenantModel.Meta,), {
        "db_table": table,
        "constraints": [models.UniqueConstraint(fields=["rooftop", "day", "is_month", *keys],
                                                name=f"{short}_once"[:30], nulls_distinct=False)],
        "indexes": indexes,
    })


# --- Leads received, and what became of them so far ----------------------------------------------------

class LeadCounts(Rollup):
    leads = models.IntegerField(default=0)
    speed_eligible = models.IntegerField(default=0)  # leads whose speed counts (not walk-ins)
    answered = models.IntegerField(default=0)  # eligible leads with a first human attempt
    speed_seconds = _seconds_array()
    speed_cum = _seconds_array()
    with_appointment = models.IntegerField(default=0)
    shown = models.IntegerField(default=0)
    sold = models.IntegerField(default=0)
    shown_sold = models.IntegerField(default=0)

    class Meta(Rollup.Meta):
        abstract = True


for _column in SPEED_BUCKET_COLUMNS:
    LeadCounts.add_to_class(_column, models.IntegerField(default=0))


class LeadDay(LeadCounts):
    """Leads per rooftop × day received × source × assigned person (the full grain)."""

    source = models.CharField(max_length=16, blank=True)
    person_id = models.BigIntegerField(null=True, blank=True)

    Meta = _grain_meta("kpis_lead_day", ["source", "person_id"])


class LeadRooftopDay(LeadCounts):
    Meta = _grain_meta("kpis_lead_rooftop_day", [])


class LeadSourceDay(LeadCounts):
    source = models.CharField(max_length=16, blank=True)

    Meta = _grain_meta("kpis_lead_source_day", ["source"])


class LeadPersonDay(LeadCounts):
    person_id = models.BigIntegerField(null=True, blank=True)

    Meta = _grain_meta("kpis_lead_person_day", ["person_id"])


# --- Sales appointments by the day they are for ----------------------------------------------------------

class AppointmentCounts(Rollup):
    scheduled = models.IntegerField(default=0)
    cancelled = models.IntegerField(default=0)
    due = models.IntegerField(default=0)  # not cancelled and the time has come (as of the build)
    shown = models.IntegerField(default=0)
    no_show = models.IntegerField(default=0)

    class Meta(Rollup.Meta):
        abstract = True


class AppointmentDay(AppointmentCounts):
    """Sales appointments per rooftop × scheduled day × lead source × person (the appointment's, else the lead's)."""

    source = models.CharField(max_length=16, blank=True)
    person_id = models.BigIntegerField(null=True, blank=True)

    Meta = _grain_meta("kpis_appointment_day", ["source", "person_id"])


class AppointmentRooftopDay(AppointmentCounts):
    Meta = _grain_meta("kpis_appointment_rooftop_day", [])


class AppointmentSourceDay(AppointmentCounts):
    source = models.CharField(max_length=16, blank=True)

    Meta = _grain_meta("kpis_appointment_source_day", ["source"])


# --- Calls, texts and emails ------------------------------------------------------------------------------

class ActivityCounts(Rollup):
    calls = models.IntegerField(default=0)
    texts = models.IntegerField(default=0)
    emails = models.IntegerField(default=0)

    class Meta(Rollup.Meta):
        abstract = True


class ActivityDay(ActivityCounts):
    """Calls, texts and emails logged by a person per rooftop × day × source of the lead they were about."""

    source = models.CharField(max_length=16, blank=True)
    person_id = models.BigIntegerField(null=True, blank=True)

    Meta = _grain_meta("kpis_activity_day", ["source", "person_id"])


class ActivityPersonDay(ActivityCounts):
    person_id = models.BigIntegerField(null=True, blank=True)

    Meta = _grain_meta("kpis_activity_person_day", ["person_id"])


# --- Alerts -----------------------------------------------------------------------------------------------

class AlertCounts(Rollup):
    raised = models.IntegerField(default=0)
    claimed = models.IntegerField(default=0)
    acted = models.IntegerField(default=0)
    claim_seconds = _seconds_array()
    act_seconds = _seconds_array()
    led_to_lead = models.IntegerField(default=0)
    led_to_appointment = models.IntegerField(default=0)
    led_to_sale = models.IntegerField(default=0)
    # Added after the first release: with database defaults, so a worker of the previous release can still
    # write rows while a deploy rolls out (its rows get empty buckets until the next rebuild of those days).
    claim_cum = _seconds_array(db_default=[])
    act_cum = _seconds_array(db_default=[])

    class Meta(Rollup.Meta):
        abstract = True


for _column in (*CLAIM_BUCKET_COLUMNS, *ACT_BUCKET_COLUMNS):
    AlertCounts.add_to_class(_column, models.IntegerField(default=0, db_default=0))


class AlertDay(AlertCounts):
    """Alerts raised per rooftop × day × kind × lead source × person (who claimed it, else who it was for)."""

    kind = models.CharField(max_length=40)
    source = models.CharField(max_length=16, blank=True)
    person_id = models.BigIntegerField(null=True, blank=True)

    Meta = _grain_meta("kpis_alert_day", ["kind", "source", "person_id"])


class AlertKindDay(AlertCounts):
    """Alerts per rooftop × day × kind: the page's alert cards and its by-kind table, without source or person
    (about a third of the full grain's rows)."""

    kind = models.CharField(max_length=40)

    Meta = _grain_meta("kpis_alert_kind_day", ["kind"])


# --- Sales, by the day of the sale -------------------------------------------------------------------------

class SaleDay(Rollup):
    """Vehicle sales (leads marked sold) per rooftop × local day of the sale, and how many went to a customer
    with a repair order at the same store in the 12 months before the sale (service to sales)."""

    sales = models.IntegerField(default=0)
    service_to_sales = models.IntegerField(default=0)

    Meta = _grain_meta("kpis_sale_day", [])


# --- Reroutes (once lead routing records them) ----------------------------------------------------------

class RerouteDay(Rollup):
    """Reroutes per rooftop × day × lead source × the person the lead was taken from.

    Filled only once lead routing records its history (`leads.LeadReroute`); empty until then.
    """

    source = models.CharField(max_length=16, blank=True)
    person_id = models.BigIntegerField(null=True, blank=True)
    reroutes = models.IntegerField(default=0)
    missed_deadlines = models.IntegerField(default=0)

    Meta = _grain_meta("kpis_reroute_day", ["source", "person_id"])


class RetentionPeriod(TenantModel):
    """Service retention of one rooftop for one preset period (and the period before it), counted by the
    refresh: distinct customers over a trailing year cannot be summed from day rows, so the page reads these
    for a preset and counts from repair orders for any other range. Replaced whole by each refresh."""

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    start = models.DateField()  # local days, inclusive, as kpis.scope.Scope
    end = models.DateField()
    due = models.IntegerField()
    came_back = models.IntegerField()
    counted_at = models.DateTimeField()

    class Meta(TenantModel.Meta):
        db_table = "kpis_retention_period"
        constraints = [models.UniqueConstraint(fields=["rooftop", "start", "end"], name="retention_period_once")]


class RollupState(models.Model):
    """When a rooftop's rollups were last brought up to date: the page says how fresh its numbers are."""

    rooftop = models.OneToOneField(Rooftop, on_delete=models.CASCADE, related_name="+", primary_key=True)
    refreshed_at = models.DateTimeField(default=timezone.now)
    first_day = models.DateField(null=True, blank=True)  # earliest day ever rebuilt
    full_rebuild_at = models.DateTimeField(null=True, blank=True)
