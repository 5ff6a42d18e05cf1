"""Benchmark: the nightly trade-readiness scan (service.opportunities) over 1,000,000 owned vehicles.

    make bench ARGS=opportunities                          # 1,000,000 vehicles (seeded once, kept for reruns)
    BENCH_VEHICLES=100000 make bench ARGS=opportunities    # a smaller store group
    .venv/bin/python bench/bench_opportunities.py --reseed | --drop

Seeded in SQL (generate_series): customers with four cars each, a deal for six cars in ten (loans, leases and cash;
the encrypted loan figures are real ciphertexts, a few reused), a repair order with an odometer reading for half.
Measured in the same run: the scan's vehicles per second and the process's peak memory, and the raw baseline, the
SQL that reads the same rows (vehicles, their latest deal, their repair orders) through one cursor; the ratio
says what working out payoff, mileage, value and triggers and keeping them costs over reading the inputs.
Writes bench/results/opportunities.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "crm_bench_opportunities"
VEHICLES = 1_000_000
TODAY = date(2026, 12, 1)


def bench_database_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB}", parts.query, parts.fragment))


ADMIN_URL = os.environ.get("DATABASE_URL", "")  # the server's own database, before this script points at its own


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(sql)


def seeded(vehicles: int) -> bool:
    """The bench database exists with exactly this many vehicles (checked before Django connects to it)."""
    import psycopg

    try:
        with psycopg.connect(bench_database_url().replace("postgres://", "postgresql://", 1)) as conn:
            return conn.execute("SELECT count(*) FROM customers_ownedvehicle").fetchone()[0] == vehicles
    except psycopg.Error:
        return False


def seed(vehicles: int, log) -> int:
    """The rooftop id, after seeding customers, owned vehicles, deals and repair orders in SQL."""
    from django.db import connection, transaction

    from crm import crypto
    from rooftops.models import DealerGroup, Rooftop

    customers = vehicles // 4
    with transaction.atomic():
        group = DealerGroup.objects.create(name="Bench Group", slug="bench-group")
        rooftop = Rooftop.objects.create(dealer_group=group, name="Bench Toyota", slug="bench-toyota")
        amounts = [crypto.encrypt(str(cents)) for cents in (1_800_000, 2_600_000, 3_400_000, 4_200_000)]
        payments = [crypto.encrypt(str(cents)) for cents in (32_900, 45_000, 56_477, 71_200)]
        aprs = [crypto.encrypt(apr) for apr in ("0.000", "2.900", "4.900", "7.490")]
        with connection.cursor() as cursor:
            log(f"seeding {customers:,} customers ...")
            cursor.execute("""
                INSERT INTO customers_customer (dealer_group_id, first_name, last_name, street, city, region,
                    postal_code, country, time_zone, preferred_contact, drivers_licence_state, created_at, updated_at)
                SELECT %s, 'Bench' || i, 'Owner', '', '', '', '', 'US', '', '', '', now(), now()
                FROM generate_series(1, %s) i""", [group.id, customers])
            cursor.execute("SELECT min(id) FROM customers_customer WHERE dealer_group_id = %s", [group.id])
            first = cursor.fetchone()[0]
            cursor.execute("""INSERT INTO customers_customerrooftop (customer_id, rooftop_id, first_seen_at,
                              dms_customer_number) SELECT id, %s, now(), '' FROM customers_customer
                              WHERE dealer_group_id = %s""", [rooftop.id, group.id])
            log(f"seeding {vehicles:,} owned vehicles ...")
            cursor.execute("""
                INSERT INTO customers_ownedvehicle (customer_id, vin, year, make, model, trim, mileage)
                SELECT %s + (i - 1) / 4, '', 2015 + i %% 11,
                       (ARRAY['Toyota','Honda','Ford','Chevrolet','Nissan'])[1 + i %% 5],
                       (ARRAY['RAV4','Civic','F-150','Equinox','Rogue','Camry','Accord'])[1 + i %% 7], '', NULL
                FROM generate_series(1, %s) i""", [first, vehicles])
            cursor.execute("SELECT min(id) FROM customers_ownedvehicle")
            first_vehicle = cursor.fetchone()[0]
            log("seeding deals (six cars in ten: loans, leases, cash) ...")
            cursor.execute("""
                INSERT INTO customers_vehiclesale (rooftop_id, customer_id, vehicle_id, deal_number, sold_on, vin,
                    year, make, model, trim, mileage, new_used, price_cents, deal_type, lender,
                    amount_financed_cents, apr, payment_cents, term_months, first_payment_on, residual_cents,
                    maturity_on, miles_per_year, trade_ins, dms_fingerprint, imported_at)
                SELECT %(rooftop)s, v.customer_id, v.id, 'B' || v.id, d.sold_on, '', v.year, v.make, v.model, '', 10,
                       'new', 3000000 + (v.id %% 20) * 100000, d.kind, NULL,
                       CASE WHEN d.kind = 'finance' THEN (%(amounts)s::text[])[1 + v.id %% 4] END,
                       CASE WHEN d.kind = 'finance' THEN (%(aprs)s::text[])[1 + v.id %% 4] END,
                       CASE WHEN d.kind <> 'cash' THEN (%(payments)s::text[])[1 + v.id %% 4] END,
                       CASE WHEN d.kind <> 'cash' THEN (ARRAY[36, 60, 72])[1 + v.id %% 3] END,
                       CASE WHEN d.kind <> 'cash' THEN d.sold_on + 30 END,
                       CASE WHEN d.kind = 'lease' THEN 1500000 END,
                       CASE WHEN d.kind = 'lease' THEN d.sold_on + 36 * 30 END,
                       CASE WHEN d.kind = 'lease' THEN 12000 END, '[]', '', now()
                FROM customers_ownedvehicle v
                CROSS JOIN LATERAL (SELECT (DATE '2026-11-01' - (v.id %% 2200)::int) AS sold_on,
                    (ARRAY['finance','finance','lease','cash','finance','lease'])[1 + v.id %% 6] AS kind) d
                WHERE v.id %% 10 < 6""", {"rooftop": rooftop.id, "amounts": amounts, "aprs": aprs,
                                           "payments": payments})
            log("seeding repair orders (half the cars, with an odometer reading) ...")
            cursor.execute("""
                INSERT INTO service_repairorder (rooftop_id, customer_id, vehicle_id, ro_number, advisor_id, opened_at,
                    closed_at, status, mileage_in, total_cents, lines, dms_fingerprint)
                SELECT %s, customer_id, id, 'R' || id, NULL, TIMESTAMPTZ '2026-06-01' - (id %% 300) * interval '1 day',
                       TIMESTAMPTZ '2026-06-01' - (id %% 300) * interval '1 day', 'closed', 8000 + (id %% 90) * 1000,
                       25000, '[]', ''
                FROM customers_ownedvehicle WHERE id %% 2 = 0""", [rooftop.id])
            assert first_vehicle
        cursor = connection.cursor()
        cursor.execute("ANALYZE")
    return rooftop.id


RAW_SQL = """
    SELECT v.id, v.customer_id, v.year, v.make, v.model, v.payoff_cents, s.deal_type, s.amount_financed_cents, s.apr,
           s.payment_cents, s.term_months, s.first_payment_on, s.residual_cents, s.maturity_on, s.miles_per_year,
           s.sold_on, s.mileage, r.opened_at, r.mileage_in, r.total_cents, r.status
    FROM customers_ownedvehicle v
    LEFT JOIN LATERAL (SELECT * FROM customers_vehiclesale s WHERE s.vehicle_id = v.id
                       ORDER BY s.sold_on DESC, s.id DESC LIMIT 1) s ON true
    LEFT JOIN service_repairorder r ON r.vehicle_id = v.id
    ORDER BY v.id
"""


def raw_read() -> tuple[int, float]:
    from django.db import connection, transaction

    started = time.perf_counter()
    rows = 0
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(RAW_SQL)
        while batch := cursor.fetchmany(10_000):
            rows += len(batch)
    return rows, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vehicles", type=int, default=int(os.environ.get("BENCH_VEHICLES", VEHICLES)))
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    args = parser.parse_args()
    log = lambda message: print(f"  {message}", flush=True)  # noqa: E731

    fresh = args.reseed or not seeded(args.vehicles)
    if fresh:
        admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        admin(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtZmllbGQtZW5jcnlwdGlvbi1rZXktMDAwMDA=")
    import django

    django.setup()
    from django.core.management import call_command

    from bench.bench_dms_import import PeakMemory
    from service.models import VehicleOpportunity
    from service.opportunities import opportunities_scan

    log("migrating the bench database ...")
    call_command("migrate", verbosity=0)
    if fresh:
        seed(args.vehicles, log)
    VehicleOpportunity.unscoped.all().delete()

    rows, raw_seconds = raw_read()
    log(f"raw SQL reading the same rows: {rows:,} rows in {raw_seconds:.1f} s")
    with PeakMemory() as memory:
        started = time.perf_counter()
        scanned = opportunities_scan(today=TODAY)
        seconds = time.perf_counter() - started
    with_reason = VehicleOpportunity.unscoped.filter(score__gt=0).count()
    log(f"scan: {scanned:,} vehicles in {seconds:.1f} s = {scanned / seconds:,.0f} vehicles/s "
        f"({with_reason:,} with a trade reason); RSS {memory.start / 2**20:.0f} MB -> peak {memory.peak / 2**20:.0f} MB")
    ratio = seconds / raw_seconds
    log(f"the scan takes {ratio:.1f}x the time of reading its inputs")
    results = {"vehicles": args.vehicles, "scanned": scanned, "with_a_reason": with_reason,
               "scan_seconds": round(seconds, 1), "vehicles_per_second": round(scanned / seconds),
               "rss_before_mb": round(memory.start / 2**20), "rss_peak_mb": round(memory.peak / 2**20),
               "raw_read_rows": rows, "raw_read_seconds": round(raw_seconds, 2),
               "ratio_scan_to_raw_read": round(ratio, 1)}
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "opportunities.json").write_text(json.dumps(results, indent=2) + "\n")
    if args.drop:
        from django.db import connection

        connection.close()
        admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
