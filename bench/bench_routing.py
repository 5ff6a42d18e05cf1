"""Lead routing speed: lead_create (customer match, routing, clock, outbox), the response-clock sweep in-process
and as two concurrent Celery sweeps, and the speed-to-lead percentile query, each with a raw baseline.

Run with `make bench ARGS=routing` (DATABASE_URL/REDIS_URL come from scripts/dev.py). It creates its own database
`crm_bench_routing`, migrates it, seeds one always-open rooftop with six salespeople, runs the phases, prints the
numbers and ratios, writes bench/results/routing.json, stops its worker and drops the database (--keep keeps it).

Baselines: a bare INSERT of the lead and its timeline row (what any intake must write), one UPDATE per clock in
one transaction (the least a sweep must write), and a plain GROUP BY count over the same leads.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "crm_bench_routing"


def _db_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--intake", type=int, default=300, help="leads through lead_create")
    parser.add_argument("--sweep", type=int, default=600, help="due clocks for the in-process sweep")
    parser.add_argument("--concurrent", type=int, default=600, help="due clocks for two concurrent worker sweeps")
    parser.add_argument("--history", type=int, default=50000, help="leads for the percentile query")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    base_url = os.environ["DATABASE_URL"]
    bench_url = _db_url(base_url, DB_NAME)
    with psycopg.connect(_db_url(base_url, "postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB_NAME}")
    os.environ.update(DATABASE_URL=bench_url, DEBUG="false", DJANGO_SETTINGS_MODULE="crm.settings")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtZmllbGQtZW5jcnlwdGlvbi1rZXktMDAwMDA=")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    print(f"migrating {DB_NAME} …", flush=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from crm.celery import app as celery_app
    from customers.models import Customer, CustomerRooftop, TimelineEntry
    from leads.models import Lead, LeadClock, LeadReroute
    from leads.selectors import speed_to_lead_percentiles
    from leads.services.clock import lead_clocks_sweep
    from leads.services.new_leads import lead_create
    from leads.tasks import sweep_lead_clocks
    from rooftops.models import DealerGroup, Role, Rooftop, StaffProfile, StaffRole
    from django.contrib.auth.models import User

    group = DealerGroup.objects.create(name="Bench Group", slug="bench")
    rooftop = Rooftop.objects.create(
        dealer_group=group, name="Bench Toyota", slug="bench-toyota", time_zone="America/New_York",
        business_hours={d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    people = []
    for n in range(6):
        user = User.objects.create(username=f"sales{n}@bench.test")
        StaffProfile.objects.create(user=user, dealer_group=group, display_name=f"Seller {n}")
        StaffRole.objects.create(user=user, rooftop=rooftop, role=Role.SALESPERSON)
        people.append(user)
    results: dict = {"cores": os.cpu_count()}
    worker = None
    try:
        # ---------------------------------------------------------------- intake
        for n in range(20):  # warm-up: imports, plans, connections
            lead_create(rooftop=rooftop, source="web_form", first_name="Warm", email=f"warm{n}@example.com")
        latencies = []
        started = time.perf_counter()
        for n in range(args.intake):
            t0 = time.perf_counter()
            lead_create(rooftop=rooftop, source="web_form", first_name="Pat", last_name=f"Shopper{n}",
                        email=f"pat{n}@example.com", phone=f"+1617555{n % 10000:04d}",
                        sms_consent_text="Text me about my inquiry")
            latencies.append(time.perf_counter() - t0)
        wall = time.perf_counter() - started
        # Raw: the two rows any intake must write, one transaction each.
        customer = Customer.unscoped.create(dealer_group=group, first_name="Raw")
        CustomerRooftop.objects.create(customer=customer, rooftop=rooftop)
        raw = []
        for n in range(args.intake):
            t0 = time.perf_counter()
            with transaction.atomic():
                lead = Lead.unscoped.create(rooftop=rooftop, customer=customer, source="web_form")
                TimelineEntry.unscoped.create(customer=customer, rooftop=rooftop, lead=lead, department="web",
                                              kind="lead", summary="raw")
            raw.append(time.perf_counter() - t0)
        results["intake"] = {
            "leads": args.intake, "leads_per_second": round(args.intake / wall, 1),
            "p50_ms": round(_pct(latencies, 0.5) * 1000, 2), "p99_ms": round(_pct(latencies, 0.99) * 1000, 2),
            "raw_insert_p50_ms": round(_pct(raw, 0.5) * 1000, 2),
            "ratio_p50_to_raw": round(_pct(latencies, 0.5) / _pct(raw, 0.5), 1),
        }
        print(f"intake: {results['intake']}", flush=True)

        # ---------------------------------------------------------------- sweep, in process
        def make_due(count: int, tag: str) -> list[int]:
            ids = [lead_create(rooftop=rooftop, source="chat", first_name=tag, email=f"{tag}{n}@example.com").lead.pk
                   for n in range(count)]
            LeadClock.unscoped.filter(lead_id__in=ids).update(deadline_at=timezone.now() - timedelta(minutes=1),
                                                               warn_at=None)
            return ids

        due = make_due(args.sweep, "sweep")
        started = time.perf_counter()
        outcome = lead_clocks_sweep(now=timezone.now(), batch_size=50)
        sweep_wall = time.perf_counter() - started
        moved = LeadReroute.unscoped.filter(lead_id__in=due).count()
        # Raw: one UPDATE per clock in one transaction.
        clock_ids = list(LeadClock.unscoped.filter(lead_id__in=due).values_list("id", flat=True))
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            for clock_id in clock_ids:
                cursor.execute("UPDATE leads_leadclock SET hops = hops WHERE id = %s", [clock_id])
        raw_wall = time.perf_counter() - started
        results["sweep_in_process"] = {
            "due_clocks": args.sweep, "rerouted": outcome.rerouted, "reroute_rows": moved,
            "seconds": round(sweep_wall, 3), "reroutes_per_second": round(moved / sweep_wall, 1),
            "raw_update_per_row_per_second": round(len(clock_ids) / raw_wall, 1),
            "ratio_to_raw": round((moved / sweep_wall) / (len(clock_ids) / raw_wall), 3),
        }
        print(f"sweep in process: {results['sweep_in_process']}", flush=True)

        # ---------------------------------------------------------------- two sweeps at once on a real worker
        from crm import queues

        celery_app.control.purge()
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "crm", "worker", "-l", "warning", "--concurrency", "2", "-Q",
             queues.consumed("sweeps"), "--without-gossip", "--without-mingle", "-n", f"bench-{os.getpid()}@%h"],
            cwd=ROOT, env=env, start_new_session=True)
        deadline = time.monotonic() + 30
        while not celery_app.control.ping(timeout=0.5):
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError("the Celery worker did not start")
        due = make_due(args.concurrent, "race")
        started = time.perf_counter()
        sweep_lead_clocks.delay(batch_size=25)
        sweep_lead_clocks.delay(batch_size=25)
        while LeadReroute.unscoped.filter(lead_id__in=due).count() < len(due) and time.perf_counter() - started < 120:
            time.sleep(0.05)
        race_wall = time.perf_counter() - started
        time.sleep(2)
        per_lead = dict(LeadReroute.unscoped.filter(lead_id__in=due).values_list("lead_id")
                        .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("id")))
        results["two_concurrent_sweeps"] = {
            "due_clocks": len(due), "leads_moved": len(per_lead), "max_reroutes_per_lead": max(per_lead.values()),
            "seconds_until_all_moved": round(race_wall, 3),
            "reroutes_per_second": round(len(per_lead) / race_wall, 1),
        }
        print(f"two sweeps at once: {results['two_concurrent_sweeps']}", flush=True)

        # ---------------------------------------------------------------- percentiles over history
        rng = random.Random(1)
        customer_ids = list(Customer.unscoped.filter(dealer_group=group).values_list("id", flat=True))
        now = timezone.now()
        rows = []
        for n in range(args.history):
            created = now - timedelta(days=rng.uniform(0, 28))
            rows.append(Lead(
                rooftop=rooftop, customer_id=rng.choice(customer_ids), source=rng.choice(["web_form", "adf", "chat"]),
                assigned_to=rng.choice(people), created_at=created, assigned_at=created + timedelta(seconds=rng.randint(1, 300)),
                first_response_at=created + timedelta(seconds=rng.randint(20, 60)),
                first_attempt_at=created + timedelta(minutes=rng.lognormvariate(2.5, 0.9)),
                first_contact_at=created + timedelta(minutes=rng.randint(5, 600)) if rng.random() < 0.7 else None))
        Lead.unscoped.bulk_create(rows, batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE leads_lead")
        timings, raw_timings = [], []
        for _ in range(5):
            t0 = time.perf_counter()
            table = speed_to_lead_percentiles(rooftop_ids=[rooftop.pk], since=now - timedelta(days=30), until=now,
                                              by="person")
            timings.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("SELECT assigned_to_id, count(*) FROM leads_lead WHERE rooftop_id = %s AND created_at >= %s "
                               "GROUP BY assigned_to_id", [rooftop.pk, now - timedelta(days=30)])
                cursor.fetchall()
            raw_timings.append(time.perf_counter() - t0)
        results["percentiles"] = {
            "leads": Lead.unscoped.count(), "groups": len(table), "median_ms": round(statistics.median(timings) * 1000, 1),
            "raw_group_by_count_ms": round(statistics.median(raw_timings) * 1000, 1),
            "ratio_to_raw": round(statistics.median(timings) / statistics.median(raw_timings), 1),
        }
        print(f"percentiles: {results['percentiles']}", flush=True)
    finally:
        if worker is not None:
            os.killpg(worker.pid, 15)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, 9)
        try:
            celery_app.control.purge()  # first responses queued for sending; no messages worker here
        except Exception as exc:  # noqa: BLE001 - cleanup only
            print(f"(could not purge queues: {exc})")
        connection.close()
        if not args.keep:
            with psycopg.connect(_db_url(base_url, "postgres"), autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "routing.json").write_text(json.dumps(results, indent=2))
    race = results["two_concurrent_sweeps"]
    return 0 if race["max_reroutes_per_lead"] == 1 and race["leads_moved"] == race["due_clocks"] else 1


if __name__ == "__main__":
    sys.exit(main())
