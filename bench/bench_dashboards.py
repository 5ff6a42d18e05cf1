"""Benchmark: manager dashboards on a year of a ten-rooftop group (about a million leads and appointments).

1. Creates its own database `crm_bench_dashboards` on the server of DATABASE_URL (dropped at the end unless
   --keep; --reuse keeps an already seeded one), migrates it, and seeds it in SQL (generate_series): 10
   rooftops in 6 time zones, ~650,000 leads, ~340,000 sales appointments, ~1.1 million calls/texts/emails on
   the timeline, 60,000 alerts, 150,000 repair orders.
2. Builds the rollups as `manage.py kpis_rebuild` does (timed).
3. Times the dashboard at the server: Django's test Client, in process, as the group's manager; every
   scenario warmed up, then many runs; p50/p95. Also the drill-down list, the CSV export, the htmx body.
4. Raw baseline, same run: the funnel and speed-to-lead headline figures (this period and the previous one)
   computed by a plain SQL aggregate over the raw leads and appointments tables, with the same indexes.
   The numbers are checked to be equal to the rollups', then the times compared.

Run: make bench ARGS=dashboards   (or: python bench/bench_dashboards.py [--keep] [--reuse] [--runs N])
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "crm_bench_dashboards"
TARGET_MS = 150  # issue 16: p95 for a year of a ten-rooftop group, the htmx refresh included

ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix",
         "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Anchorage"]
N_CUSTOMERS = 500_000
N_LEADS = 650_000
N_ALERTS = 60_000
N_REPAIR_ORDERS = 150_000
SALES_PER_ROOFTOP = 8
# A standard normal draw (Box-Muller): random_normal() exists only from PostgreSQL 16; 1 - random() is never 0.
NORMAL_SQL = "(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))"


def log(message: str) -> None:
    print(message, flush=True)


# --- database ------------------------------------------------------------------------------------------

def prepare_database(reuse: bool) -> tuple[str, bool]:
    """Create (or reuse) the bench database; returns its URL and whether it is already seeded."""
    import dj_database_url
    import psycopg

    base_url = os.environ["DATABASE_URL"]
    cfg = dj_database_url.parse(base_url)
    admin = psycopg.connect(host=cfg["HOST"] or None, port=cfg["PORT"] or None, user=cfg["USER"] or None,
                            password=cfg["PASSWORD"] or None, dbname="postgres", autocommit=True)
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone() is not None
    if exists and not reuse:
        admin.execute(f"DROP DATABASE {BENCH_DB} WITH (FORCE)")
    if not exists or not reuse:
        admin.execute(f"CREATE DATABASE {BENCH_DB}")
    admin.close()
    prefix, _, _ = base_url.partition("?")
    query = base_url[len(prefix):]
    url = prefix.rsplit("/", 1)[0] + "/" + BENCH_DB + query
    return url, exists and reuse


def drop_database() -> None:
    import dj_database_url
    import psycopg
    from django.db import connections

    connections.close_all()
    cfg = dj_database_url.parse(os.environ["BENCH_ADMIN_URL"])
    with psycopg.connect(host=cfg["HOST"] or None, port=cfg["PORT"] or None, user=cfg["USER"] or None,
                         password=cfg["PASSWORD"] or None, dbname="postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


# --- seeding -------------------------------------------------------------------------------------------

def seed(now: datetime, *, customers: int = N_CUSTOMERS, leads: int = N_LEADS, alerts: int = N_ALERTS,
         repair_orders: int = N_REPAIR_ORDERS) -> dict:
    """The group, its staff and a year of its work; smaller sizes give the same shape (bench_load seeds a fifth)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.db import connection

    from rooftops.models import DealerGroup, Role, Rooftop, StaffProfile, StaffRole

    timings = {}
    started = time.monotonic()
    group = DealerGroup.objects.create(name="Bench Auto Group", slug="bench-auto-group")
    rooftops = [Rooftop.objects.create(dealer_group=group, name=f"Bench Store {i + 1:02d}", slug=f"bench-{i + 1:02d}",
                                       time_zone=zone) for i, zone in enumerate(ZONES)]
    password = make_password("bench-password-1")
    users, profiles, roles = [], [], []
    manager = User(username="group-manager@bench.test", password=password)
    users.append((manager, "Group Manager", [(r, Role.MANAGER) for r in rooftops], True))
    for i, rooftop in enumerate(rooftops):
        for k in range(SALES_PER_ROOFTOP):
            users.append((User(username=f"sales{i}-{k}@bench.test", password=password), f"Sales {i}-{k}",
                          [(rooftop, Role.SALESPERSON)], False))
        for k in range(2):
            users.append((User(username=f"bdc{i}-{k}@bench.test", password=password), f"BDC {i}-{k}",
                          [(rooftop, Role.BDC_AGENT)], False))
        users.append((User(username=f"manager{i}@bench.test", password=password), f"Manager {i}",
                      [(rooftop, Role.MANAGER)], False))
    User.objects.bulk_create([u for u, *_ in users])
    for user, name, user_roles, whole in users:
        profiles.append(StaffProfile(user=user, dealer_group=group, display_name=name, sees_whole_group=whole))
        roles.extend(StaffRole(user=user, rooftop=r, role=role) for r, role in user_roles)
    StaffProfile.objects.bulk_create(profiles)
    StaffRole.objects.bulk_create(roles)
    sales_ids = [u.id for u, name, _, _ in users if name.startswith("Sales")]
    bdc_ids = [u.id for u, name, _, _ in users if name.startswith("BDC")]
    rooftop_ids = [r.id for r in rooftops]
    p = {"group": group.id, "rooftops": rooftop_ids, "sales": sales_ids, "bdc": bdc_ids, "now": now,
         "ncust": customers, "nleads": leads, "nalerts": alerts, "nros": repair_orders,
         "ro_customers": min(120_000, customers), "spr": SALES_PER_ROOFTOP}
    timings["staff"] = time.monotonic() - started

    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")

        def step(name: str, sql: str) -> None:
            t = time.monotonic()
            cursor.execute(sql, p)
            timings[name] = time.monotonic() - t
            log(f"  seeded {name:<13} {cursor.rowcount:>9,} rows in {timings[name]:5.1f} s")

        step("customers", """
            INSERT INTO customers_customer (first_name, last_name, street, city, region, postal_code, country,
                time_zone, preferred_contact, link_token, created_at, updated_at, dealer_group_id, merged_into_id,
                drivers_licence_state)
            SELECT 'First' || g, 'Last' || (g %% 997), '', '', '', '', 'US', '', '', NULL,
                   %(now)s - interval '800 days', %(now)s, %(group)s, NULL, ''
            FROM generate_series(1, %(ncust)s) g""")
        cursor.execute("SELECT min(id) FROM customers_customer")
        p["cmin"] = cursor.fetchone()[0]
        # Each customer belongs to one rooftop: (id - cmin) %% 10. Speed differs by salesperson (k).
        step("leads", """
            INSERT INTO leads_lead (source, provider, status, lost_reason, vehicle_description, trade_in, comments,
                created_at, assigned_at, first_response_at, first_attempt_at, first_contact_at, status_changed_at,
                sold_at, dedupe_key, raw_adf, assigned_to_id, customer_id, rooftop_id, vehicle_id, vehicles_of_interest)
            SELECT src, '', status, '', '', '{}'::jsonb, '', created, created + interval '1 minute', NULL,
                   CASE WHEN src = 'walk_in' THEN created
                        WHEN answered THEN created + make_interval(secs => speed) END,
                   NULL, created, CASE WHEN status = 'sold' THEN created + interval '3 days' END, '', '',
                   owner, cust, rooftop, NULL, '[]'::jsonb
            FROM (
                SELECT *, CASE WHEN NOT answered AND src <> 'walk_in' THEN 'new'
                               WHEN outcome < 0.10 THEN 'sold' WHEN outcome < 0.22 THEN 'shown'
                               WHEN outcome < 0.42 THEN 'appointment_set' WHEN outcome < 0.55 THEN 'lost'
                               ELSE 'working' END AS status
                FROM (
                    SELECT g, cust, rooftop, k,
                           (%(sales)s::int[])[ri * %(spr)s + k + 1] AS owner,
                           %(now)s - make_interval(secs => random() * 365 * 86400) AS created,
                           CASE WHEN r < 0.30 THEN 'web_form' WHEN r < 0.65 THEN 'adf' WHEN r < 0.80 THEN 'phone'
                                WHEN r < 0.90 THEN 'walk_in' WHEN r < 0.96 THEN 'chat' ELSE 'service' END AS src,
                           random() < 0.93 AS answered,
                           least(exp(2.2 + 0.12 * k + 0.9 * normal) * 60, 6 * 86400) AS speed,
                           random() AS outcome
                    FROM (
                        SELECT g, %(cmin)s + (g - 1) %% %(ncust)s AS cust, ((g - 1) %% %(ncust)s) %% 10 AS ri,
                               (%(rooftops)s::bigint[])[((g - 1) %% %(ncust)s) %% 10 + 1] AS rooftop,
                               floor(random() * %(spr)s)::int AS k, random() AS r, """ + NORMAL_SQL + """ AS normal
                        FROM generate_series(1, %(nleads)s) g
                    ) base
                ) drawn
            ) decided""")
        step("appointments", """
            INSERT INTO customers_appointment (department, kind, scheduled_at, status, created_at, status_changed_at,
                notes, assigned_to_id, created_by_id, lead_id, rooftop_id, customer_id, dms_number, dms_fingerprint)
            SELECT 'sales', 'test_drive', at,
                   CASE WHEN first AND l.status IN ('shown', 'sold') THEN 'shown'
                        WHEN at > %(now)s THEN 'scheduled'
                        WHEN random() < 0.15 THEN 'cancelled' ELSE 'no_show' END,
                   l.created_at + interval '2 hours', NULL, '', l.assigned_to_id, l.assigned_to_id, l.id,
                   l.rooftop_id, l.customer_id, '', ''
            FROM leads_lead l
            CROSS JOIN LATERAL (VALUES (true), (false)) AS n(first)
            CROSS JOIN LATERAL (SELECT l.created_at + make_interval(hours => 6 + (random() * 96)::int) AS at) s
            WHERE l.status IN ('appointment_set', 'shown', 'sold') AND (first OR random() < 0.25)""")
        step("activity", """
            INSERT INTO customers_timelineentry (department, kind, occurred_at, summary, body, direction, detail,
                actor_id, customer_id, lead_id, rooftop_id)
            SELECT 'sales', kind, at, initcap(kind), '', 'out', '{}'::jsonb, l.assigned_to_id, l.customer_id, l.id,
                   l.rooftop_id
            FROM leads_lead l
            CROSS JOIN LATERAL (
                SELECT 'call' AS kind, l.first_attempt_at AS at WHERE l.first_attempt_at IS NOT NULL
                                                                   AND l.source <> 'walk_in'
                UNION ALL SELECT 'text', l.created_at + make_interval(mins => (random() * 600)::int)
                          WHERE random() < 0.5
                UNION ALL SELECT 'email', l.created_at + make_interval(mins => (random() * 900)::int)
                          WHERE random() < 0.3
            ) a""")
        step("alerts", """
            INSERT INTO alerts_alert (kind, priority, reasons, suggested_next_step, score, for_team, state,
                claimed_at, acted_at, dismissed_reason, snoozed_until, created_at, updated_at, expires_at,
                claimed_by_id, customer_id, for_user_id, lead_id, parent_id, rooftop_id, vehicle_id, visitor_id,
                follow_up_count, last_signal_at, priority_rose)
            SELECT kind, 2, '[]'::jsonb, '', 0, 'bdc', CASE WHEN acted THEN 'acted' WHEN claimed THEN 'claimed'
                                                             ELSE 'expired' END,
                   CASE WHEN claimed THEN created + make_interval(secs => claim) END,
                   CASE WHEN acted THEN created + make_interval(secs => claim * 2 + 300) END,
                   '', NULL, created, created, NULL,
                   CASE WHEN claimed THEN (%(bdc)s::int[])[ri * 2 + 1 + (random() < 0.5)::int] END,
                   cust, NULL, NULL, NULL, rooftop, NULL, NULL, 0, created, false
            FROM (
                SELECT g, cust, ((cust - %(cmin)s) %% 10) AS ri, (%(rooftops)s::bigint[])[(cust - %(cmin)s) %% 10 + 1] AS rooftop,
                       (ARRAY['vdp_repeat', 'trade_in_done', 'price_drop_click', 'credit_app_started',
                              'returning_shopper'])[1 + floor(random() * 5)::int] AS kind,
                       %(now)s - make_interval(secs => random() * 365 * 86400) AS created,
                       random() < 0.75 AS claimed, random() < 0.55 AS acted,
                       least(exp(1.6 + 1.0 * normal) * 60, 86400) AS claim
                FROM (SELECT g, %(cmin)s + floor(random() * %(ncust)s)::bigint AS cust, """ + NORMAL_SQL + """ AS normal
                      FROM generate_series(1, %(nalerts)s) g) c
            ) a""")
        step("repair_orders", """
            INSERT INTO service_repairorder (ro_number, opened_at, closed_at, status, mileage_in, total_cents, lines,
                advisor_id, customer_id, rooftop_id, vehicle_id, dms_fingerprint)
            SELECT 'B' || g, opened, opened + interval '1 day', 'closed', NULL, 25000, '[]'::jsonb, NULL, cust,
                   (%(rooftops)s::bigint[])[(cust - %(cmin)s) %% 10 + 1], NULL, ''
            FROM (SELECT g, %(cmin)s + floor(random() * %(ro_customers)s)::bigint AS cust,
                         %(now)s - make_interval(secs => random() * 730 * 86400) AS opened
                  FROM generate_series(1, %(nros)s) g) r""")
        t = time.monotonic()
        cursor.execute("ANALYZE")
        timings["analyze"] = time.monotonic() - t
    timings["total"] = time.monotonic() - started
    return {"timings": timings, "rooftop_ids": rooftop_ids, "manager": manager.username}


def build_rollups() -> dict:
    """Every rooftop's rollups as `manage.py kpis_rebuild` builds them, then VACUUM ANALYZE; returns timings."""
    from django.db import connection
    from django.utils import timezone

    from kpis.services import rollups_rebuild_all
    from rooftops.models import Rooftop

    started = time.monotonic()
    per_rooftop = []
    for rooftop in Rooftop.objects.order_by("id"):
        t = time.monotonic()
        rollups_rebuild_all(rooftop=rooftop, now=timezone.now())
        per_rooftop.append(time.monotonic() - t)
    timings = {"total": round(time.monotonic() - started, 1), "per_rooftop_max": round(max(per_rooftop), 2)}
    with connection.cursor() as cursor:
        # As autovacuum leaves a steady-state database: statistics and visibility maps (index-only scans).
        cursor.execute("VACUUM ANALYZE")
    return timings


def counts() -> dict:
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for table in ("leads_lead", "customers_appointment", "customers_timelineentry", "alerts_alert",
                      "service_repairorder", "customers_customer", "kpis_lead_day", "kpis_appointment_day",
                      "kpis_activity_day", "kpis_alert_day"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            out[table] = cursor.fetchone()[0]
    return out


# --- measuring -----------------------------------------------------------------------------------------

def timed(fn, runs: int, warmup: int = 2) -> dict:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 1),
            "p95_ms": round(samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))], 1),
            "max_ms": round(samples[-1], 1), "runs": runs}


RAW_HEADLINE_SQL = """
SELECT count(*) FILTER (WHERE cur) AS leads, count(*) FILTER (WHERE NOT cur) AS leads_prev,
       count(*) FILTER (WHERE cur AND x.with_appointment) AS with_appointment,
       count(*) FILTER (WHERE cur AND x.shown) AS shown,
       count(*) FILTER (WHERE cur AND l.status = 'sold') AS sold,
       count(*) FILTER (WHERE NOT cur AND l.status = 'sold') AS sold_prev,
       count(*) FILTER (WHERE cur AND x.speed <= 300) AS within_5,
       count(*) FILTER (WHERE cur AND x.speed <= 900) AS within_15,
       count(*) FILTER (WHERE cur AND x.speed <= 3600) AS within_60,
       count(*) FILTER (WHERE cur AND l.source <> 'walk_in') AS eligible,
       percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY x.speed) FILTER (WHERE cur) AS speed_now,
       percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY x.speed) FILTER (WHERE NOT cur) AS speed_prev
FROM leads_lead l
CROSS JOIN LATERAL (
    SELECT CASE WHEN l.source <> 'walk_in' AND l.first_attempt_at IS NOT NULL
                THEN greatest(0, floor(extract(epoch FROM l.first_attempt_at - l.created_at)))::int END AS speed,
           EXISTS (SELECT 1 FROM customers_appointment a WHERE a.lead_id = l.id AND a.department = 'sales')
               AS with_appointment,
           EXISTS (SELECT 1 FROM customers_appointment a WHERE a.lead_id = l.id AND a.department = 'sales'
                   AND a.status = 'shown') AS shown
) x
CROSS JOIN LATERAL (SELECT {current_test} AS cur) c
WHERE ({period_ranges}) {filters}
"""


def raw_headline(scope) -> dict:
    """The funnel and speed headline figures, this period and the previous, straight from the raw tables."""
    from django.db import connection, transaction

    params: list = []
    ranges, current = [], []
    for rooftop in scope.rooftops:
        lo, _ = scope.previous.bounds(rooftop)
        mid, hi = scope.bounds(rooftop)
        ranges.append("(l.rooftop_id = %s AND l.created_at >= %s AND l.created_at < %s)")
        params += [rooftop.id, lo, hi]
        current.append("(l.rooftop_id = %s AND l.created_at >= %s)")
    current_params = []
    for rooftop in scope.rooftops:
        current_params += [rooftop.id, scope.bounds(rooftop)[0]]
    filters, filter_params = "", []
    if scope.source:
        filters += " AND l.source = %s"
        filter_params.append(scope.source)
    if scope.person_id:
        filters += " AND l.assigned_to_id = %s"
        filter_params.append(scope.person_id)
    sql = RAW_HEADLINE_SQL.format(current_test=" OR ".join(current), period_ranges=" OR ".join(ranges),
                                  filters=filters)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql, current_params + params + filter_params)
        names = [c.name for c in cursor.description]
        return dict(zip(names, cursor.fetchone()))


RAW_ALERTS_SQL = """
SELECT a.kind, c.cur, count(*) AS raised,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY x.claim_seconds) AS claim_median,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY x.act_seconds) AS act_median
FROM alerts_alert a
LEFT JOIN leads_lead l ON l.id = a.lead_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN a.claimed_at IS NOT NULL
                THEN greatest(0, floor(extract(epoch FROM a.claimed_at - a.created_at)))::int END AS claim_seconds,
           CASE WHEN a.acted_at IS NOT NULL
                THEN greatest(0, floor(extract(epoch FROM a.acted_at - a.created_at)))::int END AS act_seconds
) x
CROSS JOIN LATERAL (SELECT {current_test} AS cur) c
WHERE a.parent_id IS NULL AND ({period_ranges}) {filters}
GROUP BY GROUPING SETS ((c.cur), (a.kind, c.cur))
"""


def raw_alerts(scope) -> dict:
    """Alerts raised and the median times to claim and to act (seconds), in total for both periods and by kind
    for this one, straight from the alerts table: {(kind or None, is_current): (raised, claim, act)}."""
    from django.db import connection, transaction

    ranges, params, current, current_params = [], [], [], []
    for rooftop in scope.rooftops:
        lo, _ = scope.previous.bounds(rooftop)
        mid, hi = scope.bounds(rooftop)
        ranges.append("(a.rooftop_id = %s AND a.created_at >= %s AND a.created_at < %s)")
        params += [rooftop.id, lo, hi]
        current.append("(a.rooftop_id = %s AND a.created_at >= %s)")
        current_params += [rooftop.id, mid]
    filters, filter_params = "", []
    if scope.source is not None:
        filters += " AND coalesce(l.source, '') = %s"
        filter_params.append(scope.source)
    if scope.person_id:
        filters += " AND coalesce(a.claimed_by_id, a.for_user_id) = %s"
        filter_params.append(scope.person_id)
    sql = RAW_ALERTS_SQL.format(current_test=" OR ".join(current), period_ranges=" OR ".join(ranges),
                                filters=filters)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql, current_params + params + filter_params)
        return {(kind, cur): (raised, claim, act) for kind, cur, raised, claim, act in cursor.fetchall()}


def rollup_headline(scope) -> dict:
    from kpis.selectors import measure_value

    keys = ["leads_received", "leads_with_appointment", "leads_shown", "leads_sold", "speed_median", "speed_p90",
            "answered_5", "answered_15", "answered_60"]
    return {k: measure_value(scope=scope, key=k) for k in keys}


RAW_SERVICE_TO_SALES_SQL = """
SELECT count(*) FILTER (WHERE {current_test}) AS current, count(*) FILTER (WHERE NOT ({current_test})) AS previous
FROM leads_lead l
WHERE l.status = 'sold' AND ({period_ranges})
  AND EXISTS (SELECT 1 FROM service_repairorder ro
              WHERE ro.rooftop_id = l.rooftop_id AND ro.customer_id = l.customer_id
                AND ro.opened_at < l.sold_at AND ro.opened_at >= l.sold_at - interval '365 days')
"""


def raw_service_to_sales(scope) -> tuple[int, int]:
    """Sales of this period and the previous one to customers serviced at the store in the year before."""
    from django.db import connection

    ranges, params, current, current_params = [], [], [], []
    for rooftop in scope.rooftops:
        lo, _ = scope.previous.bounds(rooftop)
        mid, hi = scope.bounds(rooftop)
        ranges.append("(l.rooftop_id = %s AND l.sold_at >= %s AND l.sold_at < %s)")
        params += [rooftop.id, lo, hi]
        current.append("(l.rooftop_id = %s AND l.sold_at >= %s)")
        current_params += [rooftop.id, mid]
    sql = RAW_SERVICE_TO_SALES_SQL.format(current_test=" OR ".join(current), period_ranges=" OR ".join(ranges))
    with connection.cursor() as cursor:
        cursor.execute(sql, current_params + current_params + params)
        return cursor.fetchone()


def check_service_to_sales(scope) -> list[str]:
    from kpis.selectors import measure_value

    raw = raw_service_to_sales(scope)
    rolled = measure_value(scope=scope, key="service_to_sales")
    mine = (rolled.current, rolled.previous)
    return [] if tuple(raw) == mine else [f"service_to_sales: raw {tuple(raw)} != rollup {mine}"]


def check_retention(scope) -> list[str]:
    """Service retention as the page shows it (the refresh's counts for a preset) against the count over the
    repair orders, this period and the previous one; also that the page did read the refresh's counts."""
    from django.db import connection

    from kpis.definitions import RetentionPeriodAt, retention_counted, service_retention_both

    periods = (scope, scope.previous)
    with connection.cursor() as cursor:
        counted = retention_counted([RetentionPeriodAt(r.id, r.time_zone, p.start, p.end)
                                     for p in periods for r in p.rooftops], cursor)
        cursor.execute("SELECT count(*) FROM kpis_retention_period WHERE rooftop_id = ANY(%s) AND "
                       "(start, \"end\") IN ((%s, %s), (%s, %s))",
                       [scope.rooftop_ids, scope.start, scope.end, scope.previous.start, scope.previous.end])
        stored = cursor.fetchone()[0]
    n = len(scope.rooftops)
    raw = [tuple(map(sum, zip(*counted[:n]))), tuple(map(sum, zip(*counted[n:])))]
    mine = [(due, back) for _, back, due in service_retention_both(scope)]
    problems = [] if raw == mine else [f"service_retention (due, came back): raw {raw} != page {mine}"]
    if stored != 2 * n:
        problems.append(f"service_retention: {stored} of {2 * n} periods stored by the refresh")
    return problems


def rollup_alerts(scope) -> dict:
    from kpis.definitions import SECTIONS
    from kpis.selectors import dashboard_build, measure_value

    keys = ("alerts_raised", "alert_claim_minutes", "alert_act_minutes")
    found = {k: measure_value(scope=scope, key=k) for k in keys}
    alerts = dashboard_build(scope=scope, sections=[s for s in SECTIONS if s.key == "alerts"])
    found["alerts_by_kind"] = {row.key: row.values for section in alerts.sections for figure in section.figures
                               if figure.figure.key == "alerts_by_kind" for row in figure.rows}
    return found


def check_alerts(raw: dict, rolled: dict) -> list[str]:
    """The alert figures moved into bucketed rollups (the cards, both periods, and the by-kind table) against
    the alerts table: counts equal, medians equal to percentile_cont over the raw times."""
    problems = []

    def same(label, raw_value, mine):
        if (raw_value is None) != (mine is None) or (mine is not None and abs(raw_value - mine) > 1e-6):
            problems.append(f"{label}: raw {raw_value} != rollup {mine}")

    for cur, attr in ((True, "current"), (False, "previous")):
        raised, claim, act = raw.get((None, cur), (0, None, None))
        same(f"alerts_raised {attr}", raised, getattr(rolled["alerts_raised"], attr))
        same(f"alert_claim_minutes {attr}", None if claim is None else claim / 60,
             getattr(rolled["alert_claim_minutes"], attr))
        same(f"alert_act_minutes {attr}", None if act is None else act / 60, getattr(rolled["alert_act_minutes"], attr))
    by_kind = rolled["alerts_by_kind"]
    raw_kinds = {kind for kind, cur in raw if kind is not None and cur}
    if set(by_kind) != raw_kinds:
        problems.append(f"alert kinds: raw {sorted(raw_kinds)} != rollup {sorted(by_kind)}")
    for kind in raw_kinds & set(by_kind):
        raised, claim, act = raw[(kind, True)]
        values = by_kind[kind]
        same(f"alerts_raised[{kind}]", raised, values["alerts_raised"].current)
        same(f"alert_claim_minutes[{kind}]", None if claim is None else claim / 60,
             values["alert_claim_minutes"].current)
        same(f"alert_act_minutes[{kind}]", None if act is None else act / 60, values["alert_act_minutes"].current)
    return problems


def check_equal(raw: dict, rolled: dict) -> list[str]:
    problems = []
    pairs = [("leads", rolled["leads_received"].current), ("leads_prev", rolled["leads_received"].previous),
             ("with_appointment", rolled["leads_with_appointment"].current), ("shown", rolled["leads_shown"].current),
             ("sold", rolled["leads_sold"].current), ("sold_prev", rolled["leads_sold"].previous),
             ("within_5", rolled["answered_5"].numerator), ("within_60", rolled["answered_60"].numerator),
             ("eligible", rolled["answered_5"].denominator)]
    for key, value in pairs:
        if raw[key] != value:
            problems.append(f"{key}: raw {raw[key]} != rollup {value}")
    for index, key in ((0, "speed_median"), (1, "speed_p90")):
        raw_now = raw["speed_now"][index] / 60 if raw["speed_now"] else None
        mine = rolled[key].current
        if (raw_now is None) != (mine is None) or (mine is not None and abs(raw_now - mine) > 1e-6):
            problems.append(f"{key}: raw {raw_now} != rollup {mine}")
        raw_prev = raw["speed_prev"][index] / 60 if raw["speed_prev"] else None
        if rolled[key].previous is not None and raw_prev is not None and abs(raw_prev - rolled[key].previous) > 1e-6:
            problems.append(f"{key} previous: raw {raw_prev} != rollup {rolled[key].previous}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help="Keep the bench database afterwards.")
    parser.add_argument("--reuse", action="store_true", help="Reuse a seeded bench database (implies --keep).")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if args.reuse:
        args.keep = True

    os.environ["BENCH_ADMIN_URL"] = os.environ["DATABASE_URL"]
    url, seeded = prepare_database(args.reuse)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtZmllbGQtZW5jcnlwdGlvbi1rZXktMDAwMDA=")
    os.environ["DEBUG"] = "false"
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from kpis.forms import today_for
    from kpis.scope import Scope, ScopeRooftop
    from rooftops.models import Rooftop

    # The machine is shared: the load average says how much of each core this run really had.
    results: dict = {"target_ms": TARGET_MS, "cores": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    now = datetime.now(dt_timezone.utc).replace(microsecond=0)
    t = time.monotonic()
    call_command("migrate", verbosity=0)
    results["migrate_s"] = round(time.monotonic() - t, 1)
    if not seeded:
        log(f"Seeding {BENCH_DB} (a year of a ten-rooftop group)…")
        seeding = seed(now)
        results["seed_s"] = {k: round(v, 1) for k, v in seeding["timings"].items()}
        log(f"  seeding took {seeding['timings']['total']:.0f} s")
        log("Building rollups (as `manage.py kpis_rebuild`)…")
        results["rollup_build_s"] = build_rollups()
        log(f"  rollups built in {results['rollup_build_s']['total']:.1f} s "
            f"(slowest rooftop {results['rollup_build_s']['per_rooftop_max']:.1f} s)")
    results["rows"] = counts()
    log("Rows: " + ", ".join(f"{k} {v:,}" for k, v in results["rows"].items()))

    # Refreshing today and yesterday for the whole group, as beat does every few minutes.
    from kpis.services import rollups_refresh_recent

    rooftops = list(Rooftop.objects.order_by("id"))
    results["refresh_recent_s"] = timed(
        lambda: [rollups_refresh_recent(rooftop=r, days=2, now=timezone.now()) for r in rooftops], runs=3, warmup=1)

    manager = User.objects.get(username="group-manager@bench.test")
    client = Client()
    client.force_login(manager)
    today = today_for(rooftops)
    one = rooftops[0]
    salesperson = User.objects.get(username="sales0-3@bench.test")

    def scope_for(days: int, rooftop=None, **filters) -> Scope:
        chosen = [rooftop] if rooftop else rooftops
        return Scope(rooftops=tuple(ScopeRooftop(r.id, r.name, r.time_zone) for r in chosen),
                     start=today - timedelta(days=days - 1), end=today, **filters)

    scenarios = [
        ("group, last 30 days", {"preset": "30"}, scope_for(30)),
        ("group, last 90 days", {"preset": "90"}, scope_for(90)),
        ("group, last 365 days", {"preset": "365"}, scope_for(365)),
        ("one rooftop, last 30 days", {"preset": "30", "rooftop": one.id}, scope_for(30, one)),
        ("one rooftop, last 365 days", {"preset": "365", "rooftop": one.id}, scope_for(365, one)),
        ("group, 365 days, source=adf", {"preset": "365", "source": "adf"}, scope_for(365, source="adf")),
        ("group, 365 days, one salesperson", {"preset": "365", "person": salesperson.id},
         scope_for(365, person_id=salesperson.id)),
    ]
    results["scenarios"] = []
    log(f"\n{'scenario':<36} {'page p50':>9} {'p95':>7} {'max':>7} | {'cards:rollup':>12} {'raw SQL':>9} {'ratio':>7}")
    for name, params, scope in scenarios:
        def page():
            response = client.get("/dashboards/", params)
            assert response.status_code == 200, response.status_code
        page_times = timed(page, args.runs)
        rollup_cards = timed(lambda: rollup_headline(scope), args.runs)
        raw_times = timed(lambda: raw_headline(scope), max(3, args.runs // 5), warmup=1)
        problems = (check_equal(raw_headline(scope), rollup_headline(scope))
                    + check_alerts(raw_alerts(scope), rollup_alerts(scope)) + check_service_to_sales(scope)
                    + check_retention(scope))
        row = {"scenario": name, "page": page_times, "headline_from_rollups": rollup_cards,
               "headline_from_raw_sql": raw_times, "raw_over_page": round(raw_times["p50_ms"] / page_times["p50_ms"], 1),
               "raw_over_rollup_cards": round(raw_times["p50_ms"] / rollup_cards["p50_ms"], 1),
               "numbers_match": not problems, "mismatches": problems,
               "under_target": page_times["p95_ms"] < TARGET_MS}
        results["scenarios"].append(row)
        log(f"{name:<36} {page_times['p50_ms']:>7.0f}ms {page_times['p95_ms']:>5.0f}ms {page_times['max_ms']:>5.0f}ms | "
            f"{rollup_cards['p50_ms']:>10.1f}ms {raw_times['p50_ms']:>7.0f}ms {row['raw_over_rollup_cards']:>6.0f}x"
            f"{'' if not problems else '  MISMATCH: ' + '; '.join(problems)}")

    extra = [
        ("htmx body, group 365 days", lambda: client.get("/dashboards/", {"preset": "365"}, HTTP_HX_REQUEST="true",
                                                         HTTP_HX_TARGET="kpi-body")),
        ("CSV summary, group 365 days", lambda: client.get("/dashboards/export.csv", {"preset": "365"})),
        ("CSV by person, group 365 days", lambda: client.get("/dashboards/export.csv",
                                                             {"preset": "365", "figure": "speed_by_person"})),
        ("leads behind lead→sale, group 365, page 1",
         lambda: client.get("/dashboards/leads/", {"preset": "365", "measure": "lead_to_sale"})),
        ("leads behind lead→sale, group 365, page 200",
         lambda: client.get("/dashboards/leads/", {"preset": "365", "measure": "lead_to_sale", "page": 200})),
        ("leads behind show rate, one rooftop 30d",
         lambda: client.get("/dashboards/leads/", {"preset": "30", "rooftop": one.id, "measure": "show_rate"})),
    ]
    results["other_pages"] = []
    log("")
    for name, fn in extra:
        times = timed(fn, max(5, args.runs // 2))
        results["other_pages"].append({"page": name, **times})
        log(f"{name:<44} p50 {times['p50_ms']:>6.0f}ms  p95 {times['p95_ms']:>6.0f}ms")
    refresh = results["refresh_recent_s"]
    log(f"\nRefreshing today+yesterday for all 10 rooftops (beat, every 5 min): p50 {refresh['p50_ms']:.0f} ms")

    results["load_average_at_end"] = os.getloadavg()
    log(f"Load average (1, 5, 15 min) at start {results['load_average_at_start']}, at end "
        f"{tuple(round(x, 2) for x in results['load_average_at_end'])} on {os.cpu_count()} cores")
    worst = max(s["page"]["p95_ms"] for s in results["scenarios"])
    results["worst_page_p95_ms"] = worst
    results["all_numbers_match"] = all(s["numbers_match"] for s in results["scenarios"])
    log(f"Worst dashboard p95: {worst:.0f} ms (target {TARGET_MS} ms) -> "
        f"{'OK' if worst < TARGET_MS else 'OVER TARGET'}; rollup numbers equal raw SQL: {results['all_numbers_match']}")
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "dashboards.json").write_text(json.dumps(results, indent=2, default=str))
    log(f"Wrote {out_dir / 'dashboards.json'}")
    if not args.keep:
        drop_database()
        log(f"Dropped {BENCH_DB}")
    return 0 if results["all_numbers_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
