"""Every dashboard measure, defined once.

A `Measure` says what a figure means in a sentence the page shows, what unit it has, which rollup it
aggregates and how (a count, a ratio, an exact percentile, or a computation over a base queryset), which
filters apply to it, and which leads are behind it (the drill-down list). A `Section` lays measures out on
the page: headline cards (every measure of the section with `card=True`), and figures (a table, with a chart
where a manager would rather look than read).

A new measure joins the dashboard by adding one `Measure(...)` below: its card, definition, comparison with
the previous period, CSV export and drill-down come with it. `service_retention` is the proof: it is not
built on a rollup, yet it is one definition like the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from django.apps import apps
from django.db.models import Count as DbCount, Exists, F, OuterRef, Q

from crm.db_router import read_connection
from kpis import conf
from kpis.scope import UNASSIGNED, Scope
from kpis.speed import (
    ACT_BUCKET_COLUMNS, CLAIM_BUCKET_COLUMNS, DAY, HOUR, MINUTE, SPEED_BUCKET_COLUMNS, buckets_between, buckets_within,
)

Unit = Literal["count", "percent", "minutes"]
Dimension = Literal["source", "person", "rooftop", "kind", "trend"]
FILTERS = frozenset({"rooftop", "date", "source", "person"})


# --- Rollups (facts) -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Grain:
    """One rollup table of a fact and the keys it keeps besides rooftop and day."""

    table: str
    keys: frozenset[str]


@dataclass(frozen=True)
class Fact:
    """A rollup: what its day, source and person mean, its grains (smallest first), and its breakdowns."""

    key: str
    grains: tuple[Grain, ...]
    day_means: str
    source_means: str
    person_means: str
    dimensions: frozenset[str] = frozenset({"source", "person", "rooftop", "trend"})
    requires_model: str | None = None
    # The page's filters its rows can answer; a fact without them is read unfiltered (its measures say so).
    filters: frozenset[str] = frozenset({"source", "person"})

    def grain_for(self, keys: set[str]) -> Grain:
        """The smallest grain that still has every key a query groups or filters by."""
        return next(g for g in self.grains if keys <= g.keys)


SOURCE, PERSON, KIND = "source", "person", "kind"


def _grains(*specs: tuple[str, tuple[str, ...]]) -> tuple[Grain, ...]:
    return tuple(Grain(table, frozenset(keys)) for table, keys in specs)


FACTS: dict[str, Fact] = {
    fact.key: fact
    for fact in (
        Fact("leads", _grains(("kpis_lead_rooftop_day", ()), ("kpis_lead_source_day", (SOURCE,)),
                              ("kpis_lead_person_day", (PERSON,)),
                              ("kpis_lead_day", (SOURCE, PERSON))),
             day_means="the day the lead arrived",
             source_means="the lead's source", person_means="the person the lead is assigned to"),
        Fact("appointments", _grains(("kpis_appointment_rooftop_day", ()), ("kpis_appointment_source_day", (SOURCE,)),
                                     ("kpis_appointment_day", (SOURCE, PERSON))),
             day_means="the day the appointment is for",
             source_means="the source of the appointment's lead",
             person_means="the person the appointment is with (else the lead's owner)"),
        Fact("activity", _grains(("kpis_activity_person_day", (PERSON,)), ("kpis_activity_day", (SOURCE, PERSON))),
             day_means="the day of the call, text or email",
             source_means="the source of the lead it was about", person_means="the person who logged it"),
        Fact("alerts", _grains(("kpis_alert_kind_day", (KIND,)), ("kpis_alert_day", (KIND, SOURCE, PERSON))),
             day_means="the day the alert was raised",
             source_means="the source of the alert's lead (alerts without a lead match no source)",
             person_means="who claimed the alert, else who it was for",
             dimensions=frozenset({"source", "person", "rooftop", "trend", "kind"})),
        Fact("sales", _grains(("kpis_sale_day", ())), day_means="the day of the sale", source_means="",
             person_means="", dimensions=frozenset({"rooftop", "trend"}), filters=frozenset()),
        Fact("reroutes", _grains(("kpis_reroute_day", (SOURCE, PERSON))), day_means="the day of the reroute",
             source_means="the lead's source", person_means="the person the lead was taken from",
             requires_model="leads.LeadReroute"),
    )
}


# --- Formulas --------------------------------------------------------------------------------------------

Columns = tuple[str, ...]


@dataclass(frozen=True)
class Count:
    """Sum of rollup columns (minus others): a number of leads, appointments, calls, alerts."""

    plus: Columns
    minus: Columns = ()


@dataclass(frozen=True)
class Ratio:
    """Sum of numerator columns ÷ sum of denominator columns, as a percentage; empty when nothing is due."""

    numerator: Columns
    denominator: Columns


@dataclass(frozen=True)
class Percentile:
    """Exact percentile_cont of the values in an array column (seconds), shown in minutes."""

    array: str
    fraction: float
    # Bucket counts of the same values and their running total (kpis.models): SQL then sorts one bucket only.
    histogram: Columns = ()
    cumulative: str = ""
    divisor: int = MINUTE


@dataclass(frozen=True)
class Computed:
    """Anything else: a function of the scope returning (value, numerator, denominator) for the period, or
    (better) one answering this period and the previous together (one query instead of two), or (better still,
    for measures over the same rows) `together`, answering several measures' both periods in one statement:
    {part: [this period, previous]}, of which this measure is `part` (a page asks it once for all of them)."""

    compute: Callable[[Scope], tuple[float | None, int | None, int | None]] | None = None
    compute_both: Callable[[Scope], list] | None = None
    together: Callable[[Scope], dict[str, list]] | None = None
    part: str = ""

    def __post_init__(self) -> None:
        if self.compute is None and self.compute_both is None and self.together is None:
            raise ValueError("a computed measure needs compute, compute_both or together")


Formula = Count | Ratio | Percentile | Computed


# --- The leads behind a figure ---------------------------------------------------------------------------
# Each returns a Q over leads.Lead that the drill-down list applies after scoping to the manager's rooftops.

def _in_period(scope: Scope, lookup: str) -> Q:
    """`lookup` falls in the scope's local days, each rooftop in its own time zone (rows carry rooftop_id)."""
    q = Q(pk__in=[])
    for rooftop in scope.rooftops:
        lo, hi = scope.bounds(rooftop)
        q |= Q(rooftop_id=rooftop.id, **{f"{lookup}__gte": lo, f"{lookup}__lt": hi})
    return q


def _person_q(scope: Scope, lookup: str) -> Q:
    if scope.person_id is None:
        return Q()
    if scope.person_id == UNASSIGNED:
        return Q(**{f"{lookup}__isnull": True})
    return Q(**{lookup: scope.person_id})


def _source_q(scope: Scope, lookup: str = "source") -> Q:
    return Q() if scope.source is None else Q(**{lookup: scope.source})


def received(scope: Scope) -> Q:
    """Leads received in the period (by their owner and source when filtered)."""
    return _in_period(scope, "created_at") & _source_q(scope) & _person_q(scope, "assigned_to_id")


def speed_counted(scope: Scope) -> Q:
    return received(scope) & ~Q(source="walk_in")


def answered(scope: Scope) -> Q:
    return speed_counted(scope) & Q(first_attempt_at__isnull=False)


def answered_within(seconds: int) -> Callable[[Scope], Q]:
    # The rollup floors answer times to whole seconds, so "within 300 s" means less than 301 s.
    return lambda scope: answered(scope) & Q(first_attempt_at__lt=F("created_at") + timedelta(seconds=seconds + 1))


def answered_between(low_seconds: int, high_seconds: int | None) -> Callable[[Scope], Q]:
    """Answered after `low` and within `high` seconds (None: no upper limit), as the rollup buckets them."""

    def leads(scope: Scope) -> Q:
        q = answered(scope)
        if low_seconds:
            q &= Q(first_attempt_at__gte=F("created_at") + timedelta(seconds=low_seconds + 1))
        if high_seconds is not None:
            q &= Q(first_attempt_at__lt=F("created_at") + timedelta(seconds=high_seconds + 1))
        return q

    return leads


def _sales_appointments(**filters) -> Exists:
    from customers.models import Appointment

    return Exists(Appointment.unscoped.filter(lead=OuterRef("pk"), department="sales", **filters))


def with_appointment(scope: Scope) -> Q:
    return received(scope) & Q(_sales_appointments())


def shown(scope: Scope) -> Q:
    return received(scope) & Q(_sales_appointments(status="shown"))


def sold(scope: Scope) -> Q:
    return received(scope) & Q(status="sold")


def shown_and_sold(scope: Scope) -> Q:
    return shown(scope) & Q(status="sold")


def _appointments_in_period(scope: Scope, *, statuses: tuple[str, ...] | None = None, due: bool = False) -> Q:
    """Leads with a sales appointment scheduled in the period (the appointment's person and lead's source)."""
    from customers.models import Appointment
    from django.utils import timezone

    appointments = Appointment.unscoped.filter(lead=OuterRef("pk"), department="sales")
    when = Q(pk__in=[])
    for rooftop in scope.rooftops:
        lo, hi = scope.bounds(rooftop)
        when |= Q(rooftop_id=rooftop.id, scheduled_at__gte=lo, scheduled_at__lt=hi)
    appointments = appointments.filter(when)
    if statuses:
        appointments = appointments.filter(status__in=statuses)
    if due:
        appointments = appointments.exclude(status="cancelled").filter(
            Q(scheduled_at__lte=timezone.now()) | Q(status__in=["shown", "no_show"])
        )
    if scope.person_id is not None:
        if scope.person_id == UNASSIGNED:
            appointments = appointments.filter(assigned_to__isnull=True, lead__assigned_to__isnull=True)
        else:
            appointments = appointments.filter(
                Q(assigned_to_id=scope.person_id) | Q(assigned_to__isnull=True, lead__assigned_to_id=scope.person_id)
            )
    return Q(Exists(appointments)) & _source_q(scope)


def appointments_shown(scope: Scope) -> Q:
    return _appointments_in_period(scope, statuses=("shown",))


def appointments_due(scope: Scope) -> Q:
    return _appointments_in_period(scope, due=True)


def _alert_rows(scope: Scope, **filters):
    """Alerts raised in the period at the outer lead's rooftop for its customer (top-level alerts only)."""
    from alerts.models import Alert

    alerts = Alert.unscoped.filter(
        customer=OuterRef("customer"), rooftop=OuterRef("rooftop"), parent__isnull=True, **filters
    )
    when = Q(pk__in=[])
    for rooftop in scope.rooftops:
        lo, hi = scope.bounds(rooftop)
        when |= Q(rooftop_id=rooftop.id, created_at__gte=lo, created_at__lt=hi)
    alerts = alerts.filter(when)
    if scope.kind:
        alerts = alerts.filter(kind=scope.kind)
    if scope.source is not None:
        alerts = alerts.filter(lead__source=scope.source)
    if scope.person_id is not None:
        if scope.person_id == UNASSIGNED:
            alerts = alerts.filter(claimed_by__isnull=True, for_user__isnull=True)
        else:
            alerts = alerts.filter(
                Q(claimed_by_id=scope.person_id) | Q(claimed_by__isnull=True, for_user_id=scope.person_id)
            )
    return alerts


def _alerts(scope: Scope, **filters) -> Q:
    """Leads of customers who raised an alert in the period, at the lead's rooftop."""
    return Q(Exists(_alert_rows(scope, **filters)))


def _alerts_followed_by(what: str) -> Callable[[Scope], Q]:
    def leads(scope: Scope) -> Q:
        from customers.models import Appointment
        from leads.models import Lead

        # OuterRef here is the alert: its customer, rooftop and the window after it was raised.
        window = timedelta(days=conf.ALERT_ATTRIBUTION_DAYS)
        same = {"customer": OuterRef("customer"), "rooftop": OuterRef("rooftop")}
        within = {"created_at__gte": OuterRef("created_at"), "created_at__lt": OuterRef("created_at") + window}
        followed = {
            "lead": lambda: Exists(Lead.unscoped.filter(**same, **within)),
            "appointment": lambda: Exists(Appointment.unscoped.filter(**same, department="sales", **within)),
            "sale": lambda: Exists(Lead.unscoped.filter(
                **same, status="sold", sold_at__gte=OuterRef("created_at"), sold_at__lt=OuterRef("created_at") + window
            )),
        }[what]()
        return Q(Exists(_alert_rows(scope).filter(followed)))

    return leads


def _activity(kind: str) -> Callable[[Scope], Q]:
    def leads(scope: Scope) -> Q:
        from customers.models import TimelineEntry

        entries = TimelineEntry.unscoped.filter(lead=OuterRef("pk"), kind=kind, actor__isnull=False)
        when = Q(pk__in=[])
        for rooftop in scope.rooftops:
            lo, hi = scope.bounds(rooftop)
            when |= Q(rooftop_id=rooftop.id, occurred_at__gte=lo, occurred_at__lt=hi)
        entries = entries.filter(when)
        if scope.person_id == UNASSIGNED:
            return Q(pk__in=[])  # activity always has a person
        if scope.person_id is not None:
            entries = entries.filter(actor_id=scope.person_id)
        return Q(Exists(entries)) & _source_q(scope)

    return leads


def _reroutes(missed_only: bool) -> Callable[[Scope], Q]:
    def leads(scope: Scope) -> Q:
        from kpis.services import reroute_columns, reroute_model

        model = reroute_model()
        columns = reroute_columns(model)
        fields = {f.column: f.name for f in model._meta.concrete_fields}
        at, person, kind = fields[columns.at], fields[columns.from_person], fields[columns.kind]
        lead_field = fields[columns.lead]
        rows = model._default_manager.filter(**{lead_field: OuterRef("pk")})
        when = Q(pk__in=[])
        for rooftop in scope.rooftops:
            lo, hi = scope.bounds(rooftop)
            when |= Q(**{f"{lead_field}__rooftop_id": rooftop.id, f"{at}__gte": lo, f"{at}__lt": hi})
        rows = rows.filter(when)
        if missed_only:
            rows = rows.filter(**{f"{kind}__in": columns.missed_kinds})
        if scope.person_id == UNASSIGNED:
            rows = rows.filter(**{f"{person}__isnull": True})
        elif scope.person_id is not None:
            rows = rows.filter(**{person: scope.person_id})
        return Q(Exists(rows)) & _source_q(scope)

    return leads


# --- Service retention: a measure over a base table, not a rollup ----------------------------------------

RETENTION_SQL = """
WITH bounds AS (
    SELECT * FROM unnest(%(rooftops)s::bigint[], %(due_from)s::timestamptz[], %(lo)s::timestamptz[],
                         %(hi)s::timestamptz[], %(period)s::int[]) AS b(rooftop_id, due_from, lo, hi, period)
),
due AS (
    SELECT DISTINCT b.period, ro.rooftop_id, ro.customer_id
    FROM bounds b
    JOIN service_repairorder ro ON ro.rooftop_id = b.rooftop_id AND ro.status = 'closed'
                               AND ro.closed_at >= b.due_from AND ro.closed_at < b.lo
),
came_back AS (
    SELECT DISTINCT b.period, ro.rooftop_id, ro.customer_id
    FROM bounds b
    JOIN service_repairorder ro ON ro.rooftop_id = b.rooftop_id AND ro.opened_at >= b.lo AND ro.opened_at < b.hi
)
SELECT due.period, count(*) AS due, count(came_back.customer_id) AS came_back
FROM due LEFT JOIN came_back USING (period, rooftop_id, customer_id)
GROUP BY due.period
"""

# The refresh's counts for preset periods (kpis.models.RetentionPeriod): summed over the scope's stores when
# every store has both periods, as RETENTION_SQL sums them (a customer is counted once per store).
STORED_RETENTION_SQL = """
SELECT p.period, sum(r.due), sum(r.came_back), count(*)
FROM unnest(%(rooftops)s::bigint[], %(start)s::date[], %(end)s::date[], %(period)s::int[])
     AS p(rooftop_id, start, "end", period)
JOIN kpis_retention_period r ON r.rooftop_id = p.rooftop_id AND r.start = p.start AND r."end" = p."end"
GROUP BY p.period
"""


def _a_year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


@dataclass(frozen=True)
class RetentionPeriodAt:
    """One store's period for retention: local days start..end, in the store's time zone."""

    rooftop_id: int
    time_zone: str
    start: date
    end: date


def retention_counted(periods: list[RetentionPeriodAt], cursor) -> list[tuple[int, int]]:
    """(due, came back) of each period, from the repair orders: the definition of service retention."""
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    columns: dict[str, list] = {"rooftops": [], "due_from": [], "lo": [], "hi": [], "period": []}
    for index, p in enumerate(periods):
        zone = ZoneInfo(p.time_zone)
        columns["rooftops"].append(p.rooftop_id)
        columns["due_from"].append(datetime.combine(_a_year_before(p.start), time.min, tzinfo=zone))
        columns["lo"].append(datetime.combine(p.start, time.min, tzinfo=zone))
        columns["hi"].append(datetime.combine(p.end + timedelta(days=1), time.min, tzinfo=zone))
        columns["period"].append(index)
    cursor.execute(RETENTION_SQL, columns)
    found = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
    return [found.get(index, (0, 0)) for index in range(len(periods))]


def service_retention(scope: Scope) -> tuple[float | None, int | None, int | None]:
    """This period's retention (value, came back, due); the previous period comes from a second call."""
    return service_retention_both(scope)[0]


def service_retention_both(scope: Scope) -> list[tuple[float | None, int | None, int | None]]:
    """Retention for the period and the one before over every rooftop of the scope: the refresh's counts when
    it kept both periods for every store (presets), else counted from repair orders in one statement."""
    periods = [(period, is_current) for period, is_current in ((scope, True), (scope.previous, False))]
    stored: dict[str, list] = {"rooftops": [], "start": [], "end": [], "period": []}
    for period, is_current in periods:
        for rooftop in period.rooftops:
            stored["rooftops"].append(rooftop.id)
            stored["start"].append(period.start)
            stored["end"].append(period.end)
            stored["period"].append(int(is_current))
    with read_connection(apps.get_model("service", "RepairOrder")).cursor() as cursor:
        cursor.execute(STORED_RETENTION_SQL, stored)
        found = {bool(row[0]): (row[1], row[2], row[3]) for row in cursor.fetchall()}
        if all(found.get(is_current, (0, 0, 0))[2] == len(scope.rooftops) for _, is_current in periods):
            counts = [(found[is_current][0], found[is_current][1]) for _, is_current in periods]
        else:
            counts = retention_counted([RetentionPeriodAt(r.id, r.time_zone, period.start, period.end)
                                        for period, _ in periods for r in period.rooftops], cursor)
            n = len(scope.rooftops)
            counts = [tuple(map(sum, zip(*counts[:n]))), tuple(map(sum, zip(*counts[n:])))]
    return [((100.0 * back / due) if due else None, back, due) for due, back in counts]


# --- Counts over base tables, this period and the previous one in one statement ---------------------------

Both = list[tuple[float | None, int | None, int | None]]


def _counted_both(rows, current: Q, previous: Q) -> Both:
    """How many of `rows` fall in this period and in the previous one: one statement (FILTER per period)
    rather than a query per store and period; the two periods are adjacent, so one range per store."""
    counts = rows.filter(current | previous).aggregate(
        current=DbCount("pk", filter=current), previous=DbCount("pk", filter=previous))
    return [(float(counts[k]), counts[k], None) for k in ("current", "previous")]


def _counted_at_each_store(rows, scope: Scope, lookup: str) -> Both:
    return _counted_both(rows, _in_period(scope, lookup), _in_period(scope.previous, lookup))


# --- Equity mining: over opportunities and leads, not rollups (service to sales is the sales rollup) ------

EQUITY_SOURCE = "equity_mining"


def equity_found(scope: Scope) -> Both:
    from service.models import VehicleOpportunity

    def days(period: Scope) -> Q:  # found_on is already the store's local date
        return Q(found_on__gte=period.start, found_on__lte=period.end)

    return _counted_both(VehicleOpportunity.unscoped.filter(rooftop_id__in=scope.rooftop_ids), days(scope),
                         days(scope.previous))


EQUITY_STEPS = ("made", "worked", "appointment", "sold")


def equity_leads(scope: Scope) -> dict[str, Both]:
    """Equity-mining leads made in the period and how many got to each step (made, worked, appointment, sold),
    this period and the previous one, in one statement."""
    from leads.models import Lead

    reached = {
        "made": Q(),
        "worked": ~Q(status=Lead.Status.NEW),
        "appointment": Q(status__in=(Lead.Status.APPOINTMENT_SET, Lead.Status.SHOWN, Lead.Status.SOLD)),
        "sold": Q(status=Lead.Status.SOLD),
    }
    current, previous = _in_period(scope, "created_at"), _in_period(scope.previous, "created_at")
    counts = Lead.unscoped.filter(source=EQUITY_SOURCE).filter(current | previous).aggregate(**{
        f"{step}_{period}": DbCount("pk", filter=when & reached[step])
        for step in EQUITY_STEPS for period, when in (("current", current), ("previous", previous))
    })
    return {step: [(float(counts[f"{step}_{period}"]), counts[f"{step}_{period}"], None)
                   for period in ("current", "previous")] for step in EQUITY_STEPS}


def _equity_leads_q(step: str):
    def q(scope: Scope) -> Q:
        base = Q(source=EQUITY_SOURCE)
        return base & {"made": Q(), "worked": ~Q(status="new"),
                       "appointment": Q(status__in=("appointment_set", "shown", "sold")),
                       "sold": Q(status="sold")}[step]
    return q


# --- Marketing: over campaign recipients and the outbox, not rollups -------------------------------------

# Campaign messages and price-drop alerts (customers.OutboundMessage.Kind): both are marketing.
MARKETING_KINDS = ("marketing", "price_drop")
MARKETING_ATTRIBUTION_DAYS = 30


def marketing_sent(scope: Scope) -> Both:
    from customers.models import OutboundMessage

    sent = OutboundMessage.unscoped.filter(kind__in=MARKETING_KINDS, status=OutboundMessage.Status.SENT)
    return _counted_at_each_store(sent, scope, "sent_at")


def _marketing_recipients(lookup: str) -> Callable[[Scope], Both]:
    """Campaign messages whose customer did something (clicked, unsubscribed) in the period, by when they did it."""

    def both(scope: Scope) -> Both:
        from marketing.models import CampaignRecipient

        return _counted_at_each_store(CampaignRecipient.objects.all(), scope, lookup)

    return both


def marketing_appointments(scope: Scope) -> Both:
    """Appointments made in the period by customers who got a marketing message from the same store in the
    30 days before (the campaign page counts the same per campaign)."""
    from customers.models import Appointment, OutboundMessage

    messaged = OutboundMessage.unscoped.filter(
        customer_id=OuterRef("customer_id"), rooftop_id=OuterRef("rooftop_id"), kind__in=MARKETING_KINDS,
        status=OutboundMessage.Status.SENT, sent_at__lte=OuterRef("created_at"),
        sent_at__gt=OuterRef("created_at") - timedelta(days=MARKETING_ATTRIBUTION_DAYS))
    return _counted_at_each_store(Appointment.unscoped.filter(Exists(messaged)), scope, "created_at")


# --- Measures --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    definition: str  # shown on the page, word for word
    unit: Unit
    section: str
    formula: Formula
    fact: str | None = None  # the rollup it aggregates; None for Computed
    filters: frozenset[str] = FILTERS
    better: Literal["up", "down"] | None = "up"  # which way a change is good news
    card: bool = True  # a headline card in its section
    leads: Callable[[Scope], Q] | None = None  # the leads behind the figure (numerator for ratios)
    leads_base: Callable[[Scope], Q] | None = None  # the leads behind the denominator
    requires_model: str | None = None
    short_label: str = ""  # column heading in tables

    @property
    def heading(self) -> str:
        return self.short_label or self.label


def _within(minutes: int) -> Columns:
    return buckets_within(minutes * MINUTE)


MEASURE_LIST: list[Measure] = [
    # Speed to lead
    Measure(
        "speed_median", "Median speed to lead",
        "Speed to lead = first human call, text or email − lead received (automated replies do not count). "
        "Median over leads answered so far; walk-ins are not timed.",
        "minutes", "speed", Percentile("speed_seconds", 0.5, SPEED_BUCKET_COLUMNS, "speed_cum"), fact="leads",
        better="down",
        leads=answered, leads_base=speed_counted, short_label="Median speed",
    ),
    Measure(
        "speed_p90", "Speed to lead, 90th percentile",
        "9 in 10 answered leads got their first human attempt within this time (walk-ins not timed).",
        "minutes", "speed", Percentile("speed_seconds", 0.9, SPEED_BUCKET_COLUMNS, "speed_cum"), fact="leads",
        better="down",
        leads=answered, leads_base=speed_counted, short_label="90th pct",
    ),
    *[
        Measure(
            f"answered_{m}", f"Answered within {m} minutes",
            f"Leads with a first human attempt within {m} minutes ÷ leads received (walk-ins excluded; "
            "leads not answered yet count as not answered).",
            "percent", "speed", Ratio(_within(m), ("speed_eligible",)), fact="leads",
            leads=answered_within(m * MINUTE), leads_base=speed_counted, short_label=f"≤ {m} min",
        )
        for m in (5, 15, 60)
    ],
    # The distribution chart's bars: leads by how long their first human attempt took.
    *[
        Measure(
            f"speed_band_{key}", label, f"Leads received whose first human attempt came {words}.", "count", "speed",
            Count(buckets_between(low, high)), fact="leads", card=False, better=None,
            leads=answered_between(low, high),
        )
        for key, label, words, low, high in (
            ("0_5", "≤ 5 min", "within 5 minutes", 0, 5 * MINUTE),
            ("5_15", "5–15 min", "after 5 and within 15 minutes", 5 * MINUTE, 15 * MINUTE),
            ("15_60", "15–60 min", "after 15 and within 60 minutes", 15 * MINUTE, HOUR),
            ("60_240", "1–4 h", "after 1 and within 4 hours", HOUR, 4 * HOUR),
            ("240_1440", "4–24 h", "after 4 and within 24 hours", 4 * HOUR, DAY),
            ("1440_", "> 1 day", "more than a day later", DAY, None),
        )
    ],
    Measure(
        "not_answered", "Not answered yet", "Leads received (not walk-ins) with no human attempt yet.", "count",
        "speed", Count(("speed_eligible",), ("answered",)), fact="leads", card=False, better="down",
        leads=lambda s: speed_counted(s) & Q(first_attempt_at__isnull=True),
    ),
    # Funnel
    Measure(
        "leads_received", "Leads received", "Leads that arrived in the period, from every source.", "count",
        "funnel", Count(("leads",)), fact="leads", leads=received, short_label="Leads",
    ),
    Measure(
        "leads_with_appointment", "Appointment set", "Leads received in the period that have a sales appointment "
        "(any status, set at any time so far).", "count", "funnel", Count(("with_appointment",)), fact="leads",
        card=False, leads=with_appointment, short_label="Appts",
    ),
    Measure(
        "leads_shown", "Shown", "Leads received in the period whose customer showed for a sales appointment.",
        "count", "funnel", Count(("shown",)), fact="leads", card=False, leads=shown, short_label="Shown",
    ),
    Measure(
        "leads_sold", "Sold", "Leads received in the period that are marked sold.", "count", "funnel",
        Count(("sold",)), fact="leads", card=False, leads=sold, short_label="Sold",
    ),
    Measure(
        "lead_to_appointment", "Lead → appointment",
        "Lead to appointment rate = leads received in the period with a sales appointment ÷ leads received.",
        "percent", "funnel", Ratio(("with_appointment",), ("leads",)), fact="leads",
        leads=with_appointment, leads_base=received, short_label="→ Appt",
    ),
    Measure(
        "show_rate", "Appointment show rate",
        "Show rate = appointments shown ÷ appointments due, excluding cancelled. Due = sales appointments "
        "scheduled in the period whose time has come.",
        "percent", "funnel", Ratio(("shown",), ("due",)), fact="appointments",
        leads=appointments_shown, leads_base=appointments_due, short_label="Show rate",
    ),
    Measure(
        "show_to_sale", "Show → sale",
        "Show to sale rate = leads sold ÷ leads that showed for a sales appointment (leads received in the period).",
        "percent", "funnel", Ratio(("shown_sold",), ("shown",)), fact="leads",
        leads=shown_and_sold, leads_base=shown, short_label="Show → sale",
    ),
    Measure(
        "lead_to_sale", "Lead → sale", "Lead to sale rate (closing ratio) = leads sold ÷ leads received in the period.",
        "percent", "funnel", Ratio(("sold",), ("leads",)), fact="leads", leads=sold, leads_base=received,
        short_label="→ Sale",
    ),
    Measure(
        "appointments_due", "Appointments due", "Sales appointments scheduled in the period whose time has come, "
        "excluding cancelled.", "count", "funnel", Count(("due",)), fact="appointments", card=False,
        leads=appointments_due, short_label="Due",
    ),
    # Alerts
    Measure(
        "alerts_raised", "Alerts raised", "Alerts raised in the period (follow-up signals grouped under an alert "
        "are not counted again).", "count", "alerts", Count(("raised",)), fact="alerts", better=None,
        leads=_alerts, short_label="Raised",
    ),
    Measure(
        "alerts_claimed", "Alerts claimed", "Alerts raised in the period that someone claimed ÷ alerts raised.",
        "percent", "alerts", Ratio(("claimed",), ("raised",)), fact="alerts",
        leads=lambda s: _alerts(s, claimed_at__isnull=False), leads_base=_alerts, short_label="Claimed",
    ),
    Measure(
        "alerts_acted", "Alerts acted on", "Alerts raised in the period that someone acted on (called, texted, "
        "emailed, booked) ÷ alerts raised.", "percent", "alerts", Ratio(("acted",), ("raised",)), fact="alerts",
        leads=lambda s: _alerts(s, acted_at__isnull=False), leads_base=_alerts, short_label="Acted on",
    ),
    Measure(
        "alert_claim_minutes", "Median time to claim", "Median time from an alert being raised to someone claiming "
        "it, over alerts claimed.", "minutes", "alerts",
        Percentile("claim_seconds", 0.5, CLAIM_BUCKET_COLUMNS, "claim_cum"), fact="alerts", better="down",
        leads=lambda s: _alerts(s, claimed_at__isnull=False), short_label="To claim",
    ),
    Measure(
        "alert_act_minutes", "Median time to act", "Median time from an alert being raised to someone acting on "
        "it, over alerts acted on.", "minutes", "alerts",
        Percentile("act_seconds", 0.5, ACT_BUCKET_COLUMNS, "act_cum"), fact="alerts", better="down",
        leads=lambda s: _alerts(s, acted_at__isnull=False), short_label="To act",
    ),
    Measure(
        "alerts_to_lead", "Alert → lead",
        f"Alerts followed by a new lead from the same customer at the same rooftop within "
        f"{conf.ALERT_ATTRIBUTION_DAYS} days ÷ alerts raised.",
        "percent", "alerts", Ratio(("led_to_lead",), ("raised",)), fact="alerts",
        leads=_alerts_followed_by("lead"), leads_base=_alerts, short_label="→ Lead", card=False,
    ),
    Measure(
        "alerts_to_appointment", "Alert → appointment",
        f"Alerts followed by a sales appointment set for the same customer at the same rooftop within "
        f"{conf.ALERT_ATTRIBUTION_DAYS} days ÷ alerts raised.",
        "percent", "alerts", Ratio(("led_to_appointment",), ("raised",)), fact="alerts",
        leads=_alerts_followed_by("appointment"), leads_base=_alerts, short_label="→ Appt",
    ),
    Measure(
        "alerts_to_sale", "Alert → sale",
        f"Alerts followed by a sale to the same customer at the same rooftop within "
        f"{conf.ALERT_ATTRIBUTION_DAYS} days ÷ alerts raised.",
        "percent", "alerts", Ratio(("led_to_sale",), ("raised",)), fact="alerts",
        leads=_alerts_followed_by("sale"), leads_base=_alerts, short_label="→ Sale",
    ),
    # Routing (appears once lead routing records reroutes)
    Measure(
        "reroutes", "Reroutes", "Leads taken from a person and given to another in the period (deadline missed, "
        "busy with a customer, or by hand), counted against the person it was taken from.", "count", "routing",
        Count(("reroutes",)), fact="reroutes", better="down", leads=_reroutes(False),
        requires_model="leads.LeadReroute", short_label="Reroutes",
    ),
    Measure(
        "missed_deadlines", "Missed deadlines", "Reroutes because the response deadline passed with no human "
        "action, counted against the person who missed it.", "count", "routing", Count(("missed_deadlines",)),
        fact="reroutes", better="down", leads=_reroutes(True), requires_model="leads.LeadReroute",
        short_label="Missed",
    ),
    # Activity (the leaderboard)
    *[
        Measure(
            f"activity_{kind}s", label, f"{label} logged by the person in the period (either direction, "
            "from the customer timeline).", "count", "people", Count((f"{kind}s",)), fact="activity", card=False,
            leads=_activity(kind), short_label=label,
        )
        for kind, label in (("call", "Calls"), ("text", "Texts"), ("email", "Emails"))
    ],
    # Service: a measure over repair orders, not a rollup, joining the page by this definition alone.
    Measure(
        "service_retention", "Service retention",
        "Service retention = customers with a closed repair order in the 12 months before the period who came "
        "back (opened a repair order) within the period ÷ those due (the customers with such an order).",
        "percent", "service", Computed(service_retention, service_retention_both),
        filters=frozenset({"rooftop", "date"}),
    ),
    Measure(
        "equity_found", "Equity opportunities found",
        "Owned vehicles the nightly scan first found a trade reason for in the period (equity over the store's "
        "line, a lease ending or over its miles, a few payments left, a warranty ending, a big repair bill, a newer "
        "model in stock).", "count", "service", Computed(compute_both=equity_found),
        filters=frozenset({"rooftop", "date"}),
    ),
    *[
        Measure(
            f"equity_leads_{step}", label, f"Equity-mining leads made in the period {words}.", "count", "service",
            Computed(together=equity_leads, part=step), filters=frozenset({"rooftop", "date"}),
            leads=_equity_leads_q(step),
            card=step != "made",
        )
        for step, label, words in (
            ("made", "Equity leads made", "(from the equity mining list)"),
            ("worked", "Equity leads worked", "that someone worked (no longer new)"),
            ("appointment", "Equity appointments", "that reached an appointment"),
            ("sold", "Equity sales", "that were sold"),
        )
    ],
    Measure(
        "service_to_sales", "Service-to-sales conversions",
        "Vehicle sales in the period to customers who had a repair order at the same store in the 12 months "
        "before the sale.", "count", "service", Count(("service_to_sales",)), fact="sales",
        filters=frozenset({"rooftop", "date"}),
    ),
    # Marketing: over the outbox and campaign recipients, not rollups (like service retention).
    Measure(
        "marketing_sent", "Marketing messages sent",
        "Campaign emails and texts and price-drop alerts sent in the period (held back by the rules or not sent "
        "yet do not count).", "count", "marketing", Computed(compute_both=marketing_sent),
        filters=frozenset({"rooftop", "date"}),
        better=None,
    ),
    Measure(
        "marketing_clicked", "Marketing messages clicked",
        "Marketing messages whose tracked link was first clicked in the period.", "count", "marketing",
        Computed(compute_both=_marketing_recipients("clicked_at")), filters=frozenset({"rooftop", "date"}),
    ),
    Measure(
        "marketing_unsubscribed", "Unsubscribed from marketing",
        "Marketing messages whose customer unsubscribed through them in the period.", "count", "marketing",
        Computed(compute_both=_marketing_recipients("unsubscribed_at")), filters=frozenset({"rooftop", "date"}),
        better="down",
    ),
    Measure(
        "marketing_appointments", "Appointments after marketing",
        f"Appointments made in the period by customers who got a marketing message from the same store in the "
        f"{MARKETING_ATTRIBUTION_DAYS} days before.", "count", "marketing",
        Computed(compute_both=marketing_appointments),
        filters=frozenset({"rooftop", "date"}),
    ),
]
MEASURES: dict[str, Measure] = {m.key: m for m in MEASURE_LIST}


def model_available(label: str | None) -> bool:
    if label is None:
        return True
    try:
        apps.get_model(label)
    except LookupError:
        return False
    return True


def available_measures() -> dict[str, Measure]:
    """Measures whose data exists in this installation (reroutes need lead routing's history)."""
    return {key: m for key, m in MEASURES.items() if model_available(m.requires_model)}


# --- The page layout -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Chart:
    kind: Literal["bar", "line"]
    measures: Columns = ()  # which of the figure's measures to draw; all when empty
    horizontal: bool = False
    stacked: bool = False


@dataclass(frozen=True)
class Figure:
    """A table of measures, one row per measure (dimension None) or per source/person/kind/day, maybe drawn."""

    key: str
    title: str
    measures: Columns
    dimension: Dimension | None = None
    chart: Chart | None = None
    note: str = ""
    multi_rooftop_only: bool = False
    share_of_first: bool = False  # funnel: each step as a share of the first
    sort_by: str | None = None  # a measure key; rows by descending value
    limit: int | None = None


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    figures: tuple[Figure, ...] = field(default_factory=tuple)
    empty_hint: str = "No data in this period."


SPEED_COLUMNS = ("leads_received", "speed_median", "speed_p90", "answered_5", "answered_15", "answered_60")
FUNNEL_COLUMNS = ("leads_received", "leads_with_appointment", "leads_shown", "leads_sold", "lead_to_appointment",
                  "show_to_sale", "lead_to_sale")
ALERT_COLUMNS = ("alerts_raised", "alerts_claimed", "alerts_acted", "alert_claim_minutes", "alert_act_minutes",
                 "alerts_to_lead", "alerts_to_appointment", "alerts_to_sale")

SECTIONS: tuple[Section, ...] = (
    Section("funnel", "Lead funnel", (
        Figure("funnel", "From lead to sale", ("leads_received", "leads_with_appointment", "leads_shown", "leads_sold"),
               chart=Chart("bar", horizontal=True), share_of_first=True,
               note="Leads received in the period and how far each got so far."),
        Figure("funnel_by_source", "Lead to sale by source", FUNNEL_COLUMNS, dimension="source",
               chart=Chart("bar", measures=("lead_to_appointment", "lead_to_sale")), sort_by="leads_received"),
        Figure("trend", "Trend", ("leads_received", "leads_with_appointment", "leads_sold"), dimension="trend",
               chart=Chart("line")),
    )),
    Section("speed", "Speed to lead", (
        Figure("speed_distribution", "How long leads waited for a person",
               ("speed_band_0_5", "speed_band_5_15", "speed_band_15_60", "speed_band_60_240", "speed_band_240_1440",
                "speed_band_1440_", "not_answered"), chart=Chart("bar")),
        Figure("speed_by_source", "By source", SPEED_COLUMNS, dimension="source", sort_by="leads_received"),
        Figure("speed_by_person", "By person", SPEED_COLUMNS, dimension="person",
               chart=Chart("bar", measures=("speed_median", "speed_p90"), horizontal=True), sort_by="leads_received"),
        Figure("speed_by_rooftop", "By rooftop", SPEED_COLUMNS, dimension="rooftop", multi_rooftop_only=True),
    )),
    Section("alerts", "Alerts", (
        Figure("alerts_by_kind", "Which alert kinds lead to appointments and sales", ALERT_COLUMNS,
               dimension="kind", chart=Chart("bar", measures=("alerts_to_appointment", "alerts_to_sale")),
               sort_by="alerts_raised"),
    ), empty_hint="No alerts were raised in this period."),
    Section("routing", "Reroutes and missed deadlines", (
        Figure("reroutes_by_person", "By person", ("reroutes", "missed_deadlines"), dimension="person",
               chart=Chart("bar", horizontal=True), sort_by="reroutes"),
    ), empty_hint="No lead was rerouted in this period."),
    Section("people", "Salesperson leaderboard", (
        Figure("leaderboard", "Activity and outcomes by person",
               ("activity_calls", "activity_texts", "activity_emails", "leads_received", "leads_with_appointment",
                "leads_shown", "leads_sold", "lead_to_sale", "speed_median"),
               dimension="person", chart=Chart("bar", measures=("leads_with_appointment", "leads_shown", "leads_sold"),
                                                horizontal=True),
               sort_by="leads_sold",
               note="Activity counts what each person logged in the period; outcomes count the leads they own."),
    )),
    Section("service", "Service"),
    Section("marketing", "Marketing", empty_hint="No marketing messages in this period."),
)


def section_measures(section: Section, measures: dict[str, Measure]) -> list[Measure]:
    """The headline cards of a section: its card measures, in definition order."""
    return [m for m in measures.values() if m.section == section.key and m.card]


def source_label(value: str) -> str:
    from leads.models import Lead

    if value == "":
        return "No lead"
    return dict(Lead.Source.choices).get(value, value)
