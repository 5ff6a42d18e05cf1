"""Writes of the dashboards: rebuilding rollup rows from the source tables, entirely in SQL.

A rebuild replaces one rooftop's rows for a range of its local days: DELETE the days, INSERT ... SELECT the
aggregate, in one transaction under a per-rooftop advisory lock (so the five-minute refresh and the nightly
rebuild never interleave). Nothing is loaded into Python; running it twice gives the same rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Min

from kpis import conf
from kpis.models import RollupState
from kpis.speed import ACT_BUCKET_COLUMNS, CLAIM_BUCKET_COLUMNS, SPEED_BUCKET_COLUMNS, SPEED_BUCKET_EDGES
from rooftops.models import Rooftop

logger = logging.getLogger(__name__)

LOCK_NAMESPACE = 7207  # pg_advisory_xact_lock(namespace, rooftop_id): one rollup writer per rooftop


def local_day_bounds(*, tz: str, start: date, end: date) -> tuple[datetime, datetime]:
    """UTC instants of local midnight starting `start` and local midnight after `end` (DST-aware)."""
    zone = ZoneInfo(tz)
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def local_today(*, tz: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


# --- The SQL of each rollup ---------------------------------------------------------------------------
# %(rooftop)s, %(tz)s, %(lo)s, %(hi)s, %(start)s, %(end)s, %(now)s are bound by `_rebuild_rooftop`.

def bucket_count_sql(value: str = "x.speed", columns: tuple[str, ...] = SPEED_BUCKET_COLUMNS) -> str:
    """count(*) of the rows whose `value` falls in each bucket of kpis.speed, one column per bucket."""
    parts, low = [], None
    for column, high in zip(columns, (*SPEED_BUCKET_EDGES, None)):
        lower = f"{value} > {low}" if low is not None else f"{value} >= 0"
        upper = f" AND {value} <= {high}" if high is not None else ""
        parts.append(f"count(*) FILTER (WHERE {lower}{upper}) AS {column}")
        low = high
    return ", ".join(parts)


def cum_sql(prefix: str = "", columns: tuple[str, ...] = SPEED_BUCKET_COLUMNS) -> str:
    """ARRAY[0, b00, b00 + b01, ...]: values before each bucket, then the total (see kpis.models)."""
    running, parts = [], ["0"]
    for column in columns:
        running.append(f"{prefix}{column}")
        parts.append(" + ".join(running))
    return "ARRAY[" + ", ".join(parts) + "]"


LEAD_COUNT_COLUMNS = ("leads", "speed_eligible", "answered", "with_appointment", "shown", "sold", "shown_sold",
                      *SPEED_BUCKET_COLUMNS)

LEAD_DAY_SQL = f"""
INSERT INTO kpis_lead_day (rooftop_id, day, source, person_id, leads, speed_eligible, answered, speed_seconds,
                           with_appointment, shown, sold, shown_sold, {", ".join(SPEED_BUCKET_COLUMNS)}, speed_cum)
SELECT agg.*, {cum_sql("agg.")}
FROM (
SELECT l.rooftop_id, (l.created_at AT TIME ZONE %(tz)s)::date, l.source, l.assigned_to_id,
       count(*),
       count(*) FILTER (WHERE l.source <> 'walk_in'),
       count(x.speed),
       coalesce(array_agg(x.speed ORDER BY x.speed) FILTER (WHERE x.speed IS NOT NULL), '{{}}'),
       count(*) FILTER (WHERE x.with_appointment),
       count(*) FILTER (WHERE x.shown),
       count(*) FILTER (WHERE l.status = 'sold'),
       count(*) FILTER (WHERE x.shown AND l.status = 'sold'),
       {bucket_count_sql()}
FROM leads_lead l
CROSS JOIN LATERAL (
    SELECT CASE WHEN l.source <> 'walk_in' AND l.first_attempt_at IS NOT NULL
                THEN greatest(0, floor(extract(epoch FROM l.first_attempt_at - l.created_at)))::int END AS speed,
           EXISTS (SELECT 1 FROM customers_appointment a
                   WHERE a.lead_id = l.id AND a.department = 'sales') AS with_appointment,
           EXISTS (SELECT 1 FROM customers_appointment a
                   WHERE a.lead_id = l.id AND a.department = 'sales' AND a.status = 'shown') AS shown
) x
WHERE l.rooftop_id = %(rooftop)s AND l.created_at >= %(lo)s AND l.created_at < %(hi)s
GROUP BY 1, 2, 3, 4
) agg
"""

APPOINTMENT_DAY_SQL = """
INSERT INTO kpis_appointment_day (rooftop_id, day, source, person_id, scheduled, cancelled, due, shown, no_show)
SELECT a.rooftop_id, (a.scheduled_at AT TIME ZONE %(tz)s)::date, coalesce(l.source, ''),
       coalesce(a.assigned_to_id, l.assigned_to_id),
       count(*),
       count(*) FILTER (WHERE a.status = 'cancelled'),
       count(*) FILTER (WHERE a.status <> 'cancelled'
                          AND (a.scheduled_at <= %(now)s OR a.status IN ('shown', 'no_show'))),
       count(*) FILTER (WHERE a.status = 'shown'),
       count(*) FILTER (WHERE a.status = 'no_show')
FROM customers_appointment a
LEFT JOIN leads_lead l ON l.id = a.lead_id
WHERE a.rooftop_id = %(rooftop)s AND a.department = 'sales'
  AND a.scheduled_at >= %(lo)s AND a.scheduled_at < %(hi)s
GROUP BY 1, 2, 3, 4
"""

ACTIVITY_DAY_SQL = """
INSERT INTO kpis_activity_day (rooftop_id, day, source, person_id, calls, texts, emails)
SELECT t.rooftop_id, (t.occurred_at AT TIME ZONE %(tz)s)::date, coalesce(l.source, ''), t.actor_id,
       count(*) FILTER (WHERE t.kind = 'call'),
       count(*) FILTER (WHERE t.kind = 'text'),
       count(*) FILTER (WHERE t.kind = 'email')
FROM customers_timelineentry t
LEFT JOIN leads_lead l ON l.id = t.lead_id
WHERE t.rooftop_id = %(rooftop)s AND t.kind IN ('call', 'text', 'email') AND t.actor_id IS NOT NULL
  AND t.occurred_at >= %(lo)s AND t.occurred_at < %(hi)s
GROUP BY 1, 2, 3, 4
"""

ALERT_DAY_SQL = f"""
INSERT INTO kpis_alert_day (rooftop_id, day, kind, source, person_id, raised, claimed, acted, claim_seconds,
                            act_seconds, led_to_lead, led_to_appointment, led_to_sale,
                            {", ".join(CLAIM_BUCKET_COLUMNS)}, {", ".join(ACT_BUCKET_COLUMNS)}, claim_cum, act_cum)
SELECT agg.*, {cum_sql("agg.", CLAIM_BUCKET_COLUMNS)}, {cum_sql("agg.", ACT_BUCKET_COLUMNS)}
FROM (
SELECT a.rooftop_id, (a.created_at AT TIME ZONE %(tz)s)::date, a.kind, coalesce(l.source, ''),
       coalesce(a.claimed_by_id, a.for_user_id),
       count(*),
       count(x.claim_seconds),
       count(x.act_seconds),
       coalesce(array_agg(x.claim_seconds ORDER BY x.claim_seconds) FILTER (WHERE x.claim_seconds IS NOT NULL), '{{}}'),
       coalesce(array_agg(x.act_seconds ORDER BY x.act_seconds) FILTER (WHERE x.act_seconds IS NOT NULL), '{{}}'),
       count(*) FILTER (WHERE x.led_to_lead),
       count(*) FILTER (WHERE x.led_to_appointment),
       count(*) FILTER (WHERE x.led_to_sale),
       {bucket_count_sql("x.claim_seconds", CLAIM_BUCKET_COLUMNS)},
       {bucket_count_sql("x.act_seconds", ACT_BUCKET_COLUMNS)}
FROM alerts_alert a
LEFT JOIN leads_lead l ON l.id = a.lead_id
CROSS JOIN LATERAL (
    -- greatest() skips NULLs, so the CASE keeps "never claimed" apart from "claimed at once".
    SELECT CASE WHEN a.claimed_at IS NOT NULL
                THEN greatest(0, floor(extract(epoch FROM a.claimed_at - a.created_at)))::int END AS claim_seconds,
           CASE WHEN a.acted_at IS NOT NULL
                THEN greatest(0, floor(extract(epoch FROM a.acted_at - a.created_at)))::int END AS act_seconds,
           EXISTS (SELECT 1 FROM leads_lead n
                   WHERE n.customer_id = a.customer_id AND n.rooftop_id = a.rooftop_id
                     AND n.created_at >= a.created_at
                     AND n.created_at < a.created_at + make_interval(days => %(window_days)s)) AS led_to_lead,
           EXISTS (SELECT 1 FROM customers_appointment p
                   WHERE p.customer_id = a.customer_id AND p.rooftop_id = a.rooftop_id AND p.department = 'sales'
                     AND p.created_at >= a.created_at
                     AND p.created_at < a.created_at + make_interval(days => %(window_days)s)) AS led_to_appointment,
           EXISTS (SELECT 1 FROM leads_lead s
                   WHERE s.customer_id = a.customer_id AND s.rooftop_id = a.rooftop_id AND s.status = 'sold'
                     AND s.sold_at >= a.created_at
                     AND s.sold_at < a.created_at + make_interval(days => %(window_days)s)) AS led_to_sale
) x
WHERE a.rooftop_id = %(rooftop)s AND a.parent_id IS NULL
  AND a.created_at >= %(lo)s AND a.created_at < %(hi)s
GROUP BY 1, 2, 3, 4, 5
) agg
"""

# Service to sales: the sale's customer had a repair order at the same store in the 365 days before the sale.
SALE_DAY_SQL = """
INSERT INTO kpis_sale_day (rooftop_id, day, sales, service_to_sales)
SELECT l.rooftop_id, (l.sold_at AT TIME ZONE %(tz)s)::date, count(*),
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM service_repairorder ro
           WHERE ro.rooftop_id = l.rooftop_id AND ro.customer_id = l.customer_id
             AND ro.opened_at < l.sold_at AND ro.opened_at >= l.sold_at - interval '365 days'))
FROM leads_lead l
WHERE l.rooftop_id = %(rooftop)s AND l.status = 'sold' AND l.sold_at >= %(lo)s AND l.sold_at < %(hi)s
GROUP BY 1, 2
"""


# --- Reroutes: only once lead routing has its history model ---------------------------------------------

# The routing branch names its fields; these are the names we accept, first match wins.
REROUTE_FIELD_CANDIDATES = {
    "lead": ("lead",),
    "from": ("from_user", "from_owner", "from_person", "from_assignee", "rerouted_from", "from"),
    "at": ("at", "rerouted_at", "created_at", "occurred_at"),
    "kind": ("kind",),
}
# Reroute kinds that mean "the response deadline passed" (rather than "with a customer" or by hand).
MISSED_DEADLINE_MARK = "deadline"


def reroute_model():
    """`leads.LeadReroute` when lead routing has landed, else None (its measures are then hidden)."""
    try:
        return apps.get_model("leads", "LeadReroute")
    except LookupError:
        return None


@dataclass(frozen=True)
class RerouteColumns:
    table: str
    lead: str
    from_person: str
    at: str
    kind: str
    missed_kinds: tuple[str, ...]


def reroute_columns(model) -> RerouteColumns:
    names = {f.name: f for f in model._meta.get_fields() if getattr(f, "concrete", False)}

    def pick(role: str):
        for candidate in REROUTE_FIELD_CANDIDATES[role]:
            if candidate in names:
                return names[candidate]
        raise LookupError(f"{model.__name__} has none of {REROUTE_FIELD_CANDIDATES[role]} for '{role}'")

    kind = pick("kind")
    choices = [value for value, _ in (kind.choices or [])]
    missed = tuple(v for v in choices if MISSED_DEADLINE_MARK in str(v)) or ("deadline", "missed_deadline")
    return RerouteColumns(
        table=model._meta.db_table, lead=pick("lead").column, from_person=pick("from").column,
        at=pick("at").column, kind=kind.column, missed_kinds=missed,
    )


def _reroute_day_sql(columns: RerouteColumns) -> str:
    c = columns
    return f"""
INSERT INTO kpis_reroute_day (rooftop_id, day, source, person_id, reroutes, missed_deadlines)
SELECT l.rooftop_id, (r."{c.at}" AT TIME ZONE %(tz)s)::date, l.source, r."{c.from_person}",
       count(*), count(*) FILTER (WHERE r."{c.kind}" = ANY(%(missed_kinds)s))
FROM "{c.table}" r
JOIN leads_lead l ON l.id = r."{c.lead}"
WHERE l.rooftop_id = %(rooftop)s AND r."{c.at}" >= %(lo)s AND r."{c.at}" < %(hi)s
GROUP BY 1, 2, 3, 4
"""


# --- Coarser grains and month rows, aggregated from day rows ---------------------------------------------

@dataclass(frozen=True)
class Aggregation:
    """Rows of `table` summed from the day rows of `base`: by fewer keys (a coarser grain) or by month."""

    table: str
    base: str
    keys: tuple[str, ...]
    sums: tuple[str, ...]
    arrays: tuple[str, ...] = ()
    # Running bucket counts to rebuild from the summed bucket columns: (cum column, its bucket columns).
    cumulative: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def sql(self, *, months: bool = False) -> str:
        """INSERT ... SELECT for the days %(start)s..%(end)s, or (months) the months %(month_start)s..%(month_end)s."""
        source = self.table if months else self.base
        day = "date_trunc('month', day)::date" if months else "day"
        lo, hi = ("%(month_start)s", "%(month_end)s") if months else ("%(start)s", "%(end)s")
        same_day = ("b.day >= s.day AND b.day < (s.day + interval '1 month')::date" if months else "b.day = s.day")
        keys = "".join(f", {k}" for k in self.keys)
        sums = "".join(f", sum({c}) AS {c}" for c in self.sums)
        arrays = "".join(
            f", coalesce((SELECT array_agg(v ORDER BY v) FROM {source} b CROSS JOIN LATERAL unnest(b.{a}) AS v "
            f"WHERE b.rooftop_id = s.rooftop_id AND NOT b.is_month AND {same_day}"
            + "".join(f" AND b.{k} IS NOT DISTINCT FROM s.{k}" for k in self.keys)
            + "), '{}')"
            for a in self.arrays
        )
        columns = ", ".join(["rooftop_id", "day", "is_month", *self.keys, *self.sums, *self.arrays]
                            + [cum for cum, _ in self.cumulative])
        cum = "".join(f", {cum_sql('s.', buckets)}" for _, buckets in self.cumulative)
        return (
            f"INSERT INTO {self.table} ({columns}) "
            f"SELECT s.rooftop_id, s.day, {'true' if months else 'false'}{''.join(f', s.{k}' for k in self.keys)}"
            f"{''.join(f', s.{c}' for c in self.sums)}{arrays}{cum} "
            f"FROM (SELECT rooftop_id, {day} AS day{keys}{sums} FROM {source} "
            f"WHERE rooftop_id = %(rooftop)s AND NOT is_month AND day BETWEEN {lo} AND {hi} "
            f"GROUP BY rooftop_id, {day}{keys}) s"
        )


APPOINTMENT_COUNT_COLUMNS = ("scheduled", "cancelled", "due", "shown", "no_show")
ACTIVITY_COUNT_COLUMNS = ("calls", "texts", "emails")
ALERT_COUNT_COLUMNS = ("raised", "claimed", "acted", "led_to_lead", "led_to_appointment", "led_to_sale",
                       *CLAIM_BUCKET_COLUMNS, *ACT_BUCKET_COLUMNS)
FULL = ("source", "person_id")
SPEED_ARRAY, SPEED_CUM = ("speed_seconds",), (("speed_cum", SPEED_BUCKET_COLUMNS),)
ALERT_ARRAYS, ALERT_CUMS = ("claim_seconds", "act_seconds"), (("claim_cum", CLAIM_BUCKET_COLUMNS),
                                                              ("act_cum", ACT_BUCKET_COLUMNS))

DERIVED_GRAINS = (
    Aggregation("kpis_lead_rooftop_day", "kpis_lead_day", (), LEAD_COUNT_COLUMNS, SPEED_ARRAY, SPEED_CUM),
    Aggregation("kpis_lead_source_day", "kpis_lead_day", ("source",), LEAD_COUNT_COLUMNS, SPEED_ARRAY, SPEED_CUM),
    Aggregation("kpis_lead_person_day", "kpis_lead_day", ("person_id",), LEAD_COUNT_COLUMNS, SPEED_ARRAY, SPEED_CUM),
    Aggregation("kpis_appointment_rooftop_day", "kpis_appointment_day", (), APPOINTMENT_COUNT_COLUMNS),
    Aggregation("kpis_appointment_source_day", "kpis_appointment_day", ("source",), APPOINTMENT_COUNT_COLUMNS),
    Aggregation("kpis_activity_person_day", "kpis_activity_day", ("person_id",), ACTIVITY_COUNT_COLUMNS),
    Aggregation("kpis_alert_kind_day", "kpis_alert_day", ("kind",), ALERT_COUNT_COLUMNS, ALERT_ARRAYS, ALERT_CUMS),
)
# Every table, full grain or derived, also gets month rows of its own day rows.
MONTH_ROWS = (
    Aggregation("kpis_lead_day", "kpis_lead_day", FULL, LEAD_COUNT_COLUMNS, SPEED_ARRAY, SPEED_CUM),
    Aggregation("kpis_appointment_day", "kpis_appointment_day", FULL, APPOINTMENT_COUNT_COLUMNS),
    Aggregation("kpis_activity_day", "kpis_activity_day", FULL, ACTIVITY_COUNT_COLUMNS),
    Aggregation("kpis_alert_day", "kpis_alert_day", ("kind", *FULL), ALERT_COUNT_COLUMNS, ALERT_ARRAYS, ALERT_CUMS),
    Aggregation("kpis_reroute_day", "kpis_reroute_day", FULL, ("reroutes", "missed_deadlines")),
    Aggregation("kpis_sale_day", "kpis_sale_day", (), ("sales", "service_to_sales")),
    *(replace(g, base=g.table) for g in DERIVED_GRAINS),
)


# --- Service retention of the preset periods ------------------------------------------------------------

def retention_preset_periods(*, tz: str, now: datetime) -> list[tuple[date, date]]:
    """Every preset period of the filter (and the period before each) ending on the store's local today or the
    day after: a group's "today" is its latest store's, at most a day ahead of any store (kpis.forms.today_for)."""
    from kpis.forms import PRESETS, preset_range

    today = local_today(tz=tz, now=now)
    periods: set[tuple[date, date]] = set()
    for last in (today, today + timedelta(days=1)):
        for preset, _ in PRESETS:
            start, end = preset_range(preset, last)
            days = (end - start).days + 1
            periods |= {(start, end), (start - timedelta(days=days), start - timedelta(days=1))}
    return sorted(periods)


RETENTION_PERIOD_INSERT_SQL = """
INSERT INTO kpis_retention_period (rooftop_id, start, "end", due, came_back, counted_at)
SELECT %(rooftop)s, p.*, %(now)s::timestamptz
FROM unnest(%(start)s::date[], %(end)s::date[], %(due)s::int[], %(came_back)s::int[]) AS p
"""


def _retention_periods_rebuild(cursor, *, rooftop: Rooftop, now: datetime) -> None:
    """Replace the rooftop's stored retention with its preset periods counted now (kpis.definitions)."""
    from kpis.definitions import RetentionPeriodAt, retention_counted

    periods = retention_preset_periods(tz=rooftop.time_zone, now=now)
    counts = retention_counted([RetentionPeriodAt(rooftop.id, rooftop.time_zone, start, end)
                                for start, end in periods], cursor)
    cursor.execute("DELETE FROM kpis_retention_period WHERE rooftop_id = %s", [rooftop.id])
    cursor.execute(RETENTION_PERIOD_INSERT_SQL, {
        "rooftop": rooftop.id, "now": now, "start": [p[0] for p in periods], "end": [p[1] for p in periods],
        "due": [c[0] for c in counts], "came_back": [c[1] for c in counts],
    })


# --- Rebuild ---------------------------------------------------------------------------------------------

ROLLUP_TABLES = ("kpis_lead_day", "kpis_appointment_day", "kpis_activity_day", "kpis_alert_day", "kpis_reroute_day",
                 "kpis_sale_day", *(g.table for g in DERIVED_GRAINS))


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


@dataclass(frozen=True)
class RebuildResult:
    rooftop_id: int
    start: date
    end: date
    rows: int


def rollups_rebuild(*, rooftop: Rooftop, start: date, end: date, now: datetime) -> RebuildResult:
    """Replace the rooftop's rollup rows for local days start..end (inclusive) from the source tables."""
    if end < start:
        raise ValueError("end must not be before start")
    lo, hi = local_day_bounds(tz=rooftop.time_zone, start=start, end=end)
    params = {
        "rooftop": rooftop.id, "tz": rooftop.time_zone, "lo": lo, "hi": hi, "start": start, "end": end,
        "now": now, "window_days": conf.ALERT_ATTRIBUTION_DAYS,
        "month_start": _month_start(start), "month_end": _month_end(end),
    }
    statements = [LEAD_DAY_SQL, APPOINTMENT_DAY_SQL, ACTIVITY_DAY_SQL, ALERT_DAY_SQL, SALE_DAY_SQL]
    model = reroute_model()
    if model is not None:
        columns = reroute_columns(model)
        params["missed_kinds"] = list(columns.missed_kinds)
        statements.append(_reroute_day_sql(columns))
    rows = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, rooftop.id])
        for table in ROLLUP_TABLES:
            cursor.execute(
                f"DELETE FROM {table} WHERE rooftop_id = %(rooftop)s AND ((NOT is_month AND day BETWEEN %(start)s "
                "AND %(end)s) OR (is_month AND day BETWEEN %(month_start)s AND %(month_end)s))", params
            )
        for sql in statements:
            cursor.execute(sql, params)
            rows += max(cursor.rowcount, 0)
        for grain in DERIVED_GRAINS:  # after the full grain they aggregate
            cursor.execute(grain.sql(), params)
        for months in MONTH_ROWS:  # whole months touched, from their day rows (old and new)
            cursor.execute(months.sql(months=True), params)
        _retention_periods_rebuild(cursor, rooftop=rooftop, now=now)
        state, created = RollupState.objects.get_or_create(
            rooftop=rooftop, defaults={"refreshed_at": now, "first_day": start}
        )
        if not created:
            state.refreshed_at = now
            state.first_day = min(state.first_day or start, start)
            state.save(update_fields=["refreshed_at", "first_day"])
    return RebuildResult(rooftop_id=rooftop.id, start=start, end=end, rows=rows)


def rollups_refresh_recent(*, rooftop: Rooftop, days: int, now: datetime) -> RebuildResult:
    """Rebuild the last `days` local days up to today (today and yesterday for days=2)."""
    today = local_today(tz=rooftop.time_zone, now=now)
    return rollups_rebuild(rooftop=rooftop, start=today - timedelta(days=max(days, 1) - 1), end=today, now=now)


def first_activity_day(*, rooftop: Rooftop) -> date | None:
    """The earliest local day with anything to count at the rooftop (uses the tables' rooftop-time indexes)."""
    from alerts.models import Alert
    from customers.models import Appointment, TimelineEntry
    from leads.models import Lead

    firsts = [
        Lead.objects.across_rooftops().filter(rooftop=rooftop).aggregate(m=Min("created_at"))["m"],
        Appointment.objects.across_rooftops().filter(rooftop=rooftop).aggregate(m=Min("scheduled_at"))["m"],
        Alert.objects.across_rooftops().filter(rooftop=rooftop).aggregate(m=Min("created_at"))["m"],
        TimelineEntry.objects.across_rooftops()
        .filter(rooftop=rooftop, kind__in=["call", "text", "email"], actor__isnull=False)
        .aggregate(m=Min("occurred_at"))["m"],
    ]
    found = [f for f in firsts if f is not None]
    if not found:
        return None
    return local_today(tz=rooftop.time_zone, now=min(found))


def rollups_rebuild_all(*, rooftop: Rooftop, now: datetime, days: int | None = None) -> RebuildResult | None:
    """Rebuild the last `days` days, or (None) everything from the rooftop's first activity to today."""
    today = local_today(tz=rooftop.time_zone, now=now)
    if days is None:
        first = first_activity_day(rooftop=rooftop)
        if first is None:
            return None
        start = min(first, today)
    else:
        start = today - timedelta(days=max(days, 1) - 1)
    result = rollups_rebuild(rooftop=rooftop, start=start, end=today, now=now)
    RollupState.objects.filter(rooftop=rooftop).update(full_rebuild_at=now)
    return result
