"""Benchmark: a group campaign to 100,000 customers, on the real stack (PostgreSQL, Redis as the broker).

    make bench ARGS=campaign                       # 100,000 customers, email and text
    .venv/bin/python bench/bench_campaign.py --customers 20000 --channels email

Seeded in SQL (generate_series) in a fresh database, dropped at the end (--keep keeps it): customers at two
stores with an email and a mobile number, a car each whose nightly scan found positive equity (real
ciphertexts for the encrypted equity), marketing text consent for most, and the cases the rules hold back in
realistic shares (recent purchases, open leads being worked, addresses on the do-not-contact list, opt-outs,
earlier marketing messages this week). The campaign runs as the worker runs it (marketing.sending.campaign_run).
Measured in the same run:

- the audience: the builder's preview (count and sample) and the id query alone;
- building the recipients (the audience, home stores, INSERT ... ON CONFLICT);
- judging and queueing: recipients judged and outbox messages written per second, every chunk's facts,
  rules, outbox rows, verdicts and progress included;
- the hand-over to Celery, measured on its own: the task message of every queued outbox row published to Redis
  (in a worker this happens on crm.handoff's publisher thread while the next chunks are judged);
- the process's peak resident memory over the run;
- the raw baseline: COPY of the same number of outbox rows into a copy of the outbox table; the ratio says
  what judging and the outbox's checks cost over writing the rows.

Writes bench/results/campaign.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "crm_bench_campaign"
CUSTOMERS = 100_000


def bench_database_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB}", parts.query, parts.fragment))


ADMIN_URL = os.environ.get("DATABASE_URL", "")


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(sql)


def seed(customers: int, log):
    """The group's two stores, after seeding customers and what the rules read, in SQL."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from crm import crypto
    from customers.suppression import address_digest, suppression_key
    from rooftops.models import DealerGroup, Rooftop, StaffProfile

    with transaction.atomic():
        group = DealerGroup.objects.create(name="Bench Group", slug="bench-group")
        north = Rooftop.objects.create(dealer_group=group, name="Bench Toyota North", slug="bench-north",
                                       time_zone="America/New_York")
        south = Rooftop.objects.create(dealer_group=group, name="Bench Toyota South", slug="bench-south",
                                       time_zone="America/Chicago")
        seller = get_user_model().objects.create(username="bench-seller")
        StaffProfile.objects.create(user=seller, dealer_group=group, display_name="Sam Seller")
        equities = [crypto.encrypt(str(cents)) for cents in (250_000, 480_000, 620_000, 910_000)]
        with connection.cursor() as cursor:
            log(f"seeding {customers:,} customers with an email, a mobile and a car with equity ...")
            cursor.execute("""
                INSERT INTO customers_customer (dealer_group_id, first_name, last_name, street, city, region,
                    postal_code, country, time_zone, preferred_contact, drivers_licence_state, created_at, updated_at)
                SELECT %s, 'Bench' || i, 'Owner', '', '', '', '', 'US', '', '', '', now(), now()
                FROM generate_series(1, %s) i""", [group.id, customers])
            cursor.execute("SELECT min(id) FROM customers_customer WHERE dealer_group_id = %s", [group.id])
            first = cursor.fetchone()[0]
            cursor.execute("""INSERT INTO customers_customerrooftop (customer_id, rooftop_id, first_seen_at,
                              dms_customer_number)
                              SELECT id, CASE WHEN id %% 2 = 0 THEN %s ELSE %s END, now(), ''
                              FROM customers_customer WHERE dealer_group_id = %s""", [north.id, south.id, group.id])
            cursor.execute("""INSERT INTO customers_customeremail (customer_id, email, is_primary)
                              SELECT id, 'bench' || id || '@example.com', true FROM customers_customer
                              WHERE dealer_group_id = %s""", [group.id])
            cursor.execute("""INSERT INTO customers_customerphone (customer_id, e164, label, is_primary)
                              SELECT id, '+1617' || (2000000 + id - %s)::text, 'mobile', true
                              FROM customers_customer WHERE dealer_group_id = %s""", [first, group.id])
            cursor.execute("""
                INSERT INTO customers_ownedvehicle (customer_id, vin, year, make, model, trim, mileage)
                SELECT id, 'BENCH' || lpad(id::text, 12, '0'), 2016 + id %% 8,
                       (ARRAY['Toyota','Honda','Ford'])[1 + id %% 3], (ARRAY['RAV4','Civic','F-150'])[1 + id %% 3],
                       '', NULL
                FROM customers_customer WHERE dealer_group_id = %s""", [group.id])
            cursor.execute("""
                INSERT INTO service_vehicleopportunity (rooftop_id, customer_id, vehicle_id, payoff_cents,
                    payoff_method, payments_left, mileage, mileage_method, value_cents, value_source, value_method,
                    valued_on, valued_mileage, equity_cents, equity_band, trigger_kinds, reasons, score, scanned_on,
                    found_on)
                SELECT CASE WHEN v.customer_id %% 2 = 0 THEN %s ELSE %s END, v.customer_id, v.id, NULL, '', NULL,
                       40000, '', 2500000, '', '', DATE '2026-12-01', 40000, (%s::text[])[1 + v.id %% 4], '5k-10k',
                       ARRAY['equity']::varchar[],
                       '[{"kind": "equity", "reason": "Worth $6,200 more than owed"}]'::jsonb, 30,
                       DATE '2026-12-01', DATE '2026-12-01'
                FROM customers_ownedvehicle v JOIN customers_customer c ON c.id = v.customer_id
                WHERE c.dealer_group_id = %s""", [north.id, south.id, equities, group.id])
            log("seeding consent (70% text marketing, 1% email opt-outs), purchases, leads, this week's messages ...")
            cursor.execute("""
                INSERT INTO customers_consentrecord (customer_id, dealer_group_id, channel, purpose, granted,
                    text_shown, source, recorded_at)
                SELECT id, %s, 'sms', 'marketing', true, 'bench', 'web form', now() - interval '30 days'
                FROM customers_customer WHERE dealer_group_id = %s AND id %% 10 < 7
                UNION ALL
                SELECT id, %s, 'email', 'marketing', false, 'bench', 'unsubscribe link', now() - interval '3 days'
                FROM customers_customer WHERE dealer_group_id = %s AND id %% 100 = 7""",
                           [group.id, group.id, group.id, group.id])
            cursor.execute("""
                INSERT INTO customers_vehiclesale (rooftop_id, customer_id, vehicle_id, deal_number, sold_on, vin,
                    year, make, model, trim, mileage, new_used, price_cents, deal_type, lender, amount_financed_cents,
                    apr, payment_cents, term_months, first_payment_on, residual_cents, maturity_on, miles_per_year,
                    trade_ins, dms_fingerprint, imported_at)
                SELECT %s, id, NULL, 'B' || id, DATE '2026-11-20' - (id %% 400)::int, 'SOLD' || lpad(id::text, 13, '0'),
                       2025, 'Toyota', 'Camry', '', 10, 'new', 3000000, 'cash', NULL, NULL, NULL, NULL, NULL, NULL,
                       NULL, NULL, NULL, '[]', '', now()
                FROM customers_customer WHERE dealer_group_id = %s AND id %% 5 = 0""", [north.id, group.id])
            cursor.execute("""
                INSERT INTO leads_lead (rooftop_id, customer_id, source, provider, status, lost_reason, assigned_to_id,
                    vehicle_id, vehicle_description, vehicles_of_interest, trade_in, comments, created_at, dedupe_key,
                    raw_adf)
                SELECT %s, id, 'web_form', '', 'working', '', %s, NULL, '', '[]', '{}', '', now() - interval '2 days',
                       '', ''
                FROM customers_customer WHERE dealer_group_id = %s AND id %% 33 = 0""", [north.id, seller.id, group.id])
            cursor.execute("""
                INSERT INTO customers_outboundmessage (customer_id, rooftop_id, channel, kind, purpose, to_address,
                    subject, body, status, idempotency_key, send_after, attempts, provider_id, error,
                    created_at)
                SELECT id, %s, 'email', 'marketing', 'marketing', 'bench' || id || '@example.com', 'Earlier', 'Earlier',
                       'sent', 'earlier:' || id || ':' || n, now() - interval '2 days', 1, '', '',
                       now() - interval '2 days'
                FROM customers_customer CROSS JOIN generate_series(1, 2) n
                WHERE dealer_group_id = %s AND id %% 50 = 0""", [north.id, group.id])
        key = suppression_key(dealer_group_id=group.id)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM customers_customer WHERE dealer_group_id = %s AND id %% 100 = 3", [group.id])
            listed = [address_digest(key=key, channel="email", address=f"bench{pk}@example.com")
                      for (pk,) in cursor.fetchall()]
            cursor.execute("""INSERT INTO customers_suppressionentry (dealer_group_id, channel, digest, reason, created_at)
                              SELECT %s, 'email', d, 'bounced', now() FROM unnest(%s::text[]) d""", [group.id, listed])
            cursor.execute("ANALYZE")
    return group, north


def copy_baseline(rows: int) -> tuple[int, float]:
    """COPY `rows` outbox-shaped rows into a copy of the outbox table (its indexes included)."""
    from django.db import connection

    buffer = io.StringIO()
    for n in range(rows):
        buffer.write(f"1\t1\temail\tmarketing\tmarketing\tbench{n}@example.com\tSubject {n}\t"
                     f"Hi Bench{n}, your 2019 Toyota RAV4 has $6,200 in equity.\tqueued\traw:{n}\t"
                     f"2026-12-01 17:00:00+00\t0\t\t\t2026-12-01 17:00:00+00\n")
    data = buffer.getvalue().encode()
    columns = ("customer_id, rooftop_id, channel, kind, purpose, to_address, subject, body, status, "
               "idempotency_key, send_after, attempts, provider_id, error, created_at")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE raw_outbox (LIKE customers_outboundmessage INCLUDING ALL)")
        started = time.perf_counter()
        with cursor.copy(f"COPY raw_outbox ({columns}) FROM STDIN") as copy:
            for start in range(0, len(data), 1 << 20):
                copy.write(data[start:start + (1 << 20)])
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM raw_outbox")
        copied = cursor.fetchone()[0]
        cursor.execute("DROP TABLE raw_outbox")
    return copied, seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=int(os.environ.get("BENCH_CAMPAIGN_CUSTOMERS", CUSTOMERS)))
    parser.add_argument("--channels", choices=("email", "sms", "both"), default="both")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--profile", action="store_true", help="print where the run's time goes")
    args = parser.parse_args()
    log = lambda message: print(f"  {message}", flush=True)  # noqa: E731

    admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtZmllbGQtZW5jcnlwdGlvbi1rZXktMDAwMDA=")
    import django

    django.setup()
    from datetime import datetime, timezone

    from django.core.management import call_command
    from django.db.models import Count

    from bench.bench_dms_import import PeakMemory
    from crm.celery import app
    from customers.models import OutboundMessage
    from marketing import sending
    from marketing.models import Campaign, CampaignRecipient
    from marketing.selectors import audience_ids, audience_preview, campaign_scope

    try:
        log("migrating the bench database ...")
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        group, _ = seed(args.customers, log)
        log(f"seeded in {time.perf_counter() - started:.0f} s")
        app.control.purge()
        audience = {"triggers": ["positive_equity"]}
        now = datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc)  # noon in New York: texts are not held
        campaign = Campaign.unscoped.create(
            dealer_group=group, rooftop=None, name="Bench trade-up", channels=args.channels, audience=audience,
            status=Campaign.Status.SENDING, email_subject="{{ first_name }}, your {{ vehicle }} is worth more",
            email_body="Hi {{ first_name }}, your {{ vehicle }} has {{ equity }} in equity. {{ store }}",
            sms_body="Hi {{ first_name }}, your {{ vehicle }} has {{ equity }} in equity.")
        results: dict = {"customers": args.customers, "channels": args.channels}

        started = time.perf_counter()
        preview = audience_preview(dealer_group_id=group.id, rooftop_id=None, spec=audience, now=now)
        results["audience_preview_seconds"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        ids = audience_ids(spec=sending.AudienceSpec.parse(audience), scope=campaign_scope(campaign), now=now)
        results["audience_ids_seconds"] = round(time.perf_counter() - started, 3)
        results["audience_customers"] = len(ids)
        log(f"audience: preview (count {preview.count:,} + sample of {len(preview.sample)}) in "
            f"{results['audience_preview_seconds']:.2f} s; the ids alone in {results['audience_ids_seconds']:.2f} s")
        del ids

        build = sending._build_recipients
        timings = {}

        def timed_build(*a, **kw):
            begun = time.perf_counter()
            size = build(*a, **kw)
            timings["build"] = time.perf_counter() - begun
            return size

        sending._build_recipients = timed_build
        # The hand-over to Celery is measured on its own: each queued message's publish is kept here during the
        # run and made afterwards, so the run's rate is the database work and the publish rate is Redis's.
        from crm import outbox

        publishes: list = []
        outbox.hand_off = lambda publish, what: publishes.append(publish) or True
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        with PeakMemory() as memory:
            started = time.perf_counter()
            status = sending.campaign_run(campaign_id=campaign.pk, now=now)
            run_seconds = time.perf_counter() - started
            started = time.perf_counter()
            for publish in publishes:
                publish()
            publish_seconds = time.perf_counter() - started
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats("wt-campaigns", 40)
        campaign.refresh_from_db()
        assert status == "sent", (status, campaign.error)
        judge_seconds = run_seconds - timings["build"]
        written = OutboundMessage.unscoped.filter(kind="marketing", idempotency_key__startswith="campaign:").count()
        reasons = dict(CampaignRecipient.objects.filter(campaign=campaign, status="suppressed")
                       .values("reason").annotate(n=Count("id")).values_list("reason", "n"))
        results.update({
            "recipients": campaign.audience_size, "judged": campaign.judged, "queued": campaign.queued,
            "held_back": campaign.suppressed, "held_back_by_reason": reasons, "outbox_rows_written": written,
            "build_recipients_seconds": round(timings["build"], 2),
            "judge_and_queue_seconds": round(judge_seconds, 2),
            "recipients_judged_per_second": round(campaign.judged / judge_seconds),
            "messages_queued_per_second": round(written / judge_seconds),
            "run_seconds": round(run_seconds, 2),
            "hand_overs_published": len(publishes), "hand_over_seconds": round(publish_seconds, 2),
            "hand_overs_per_second": round(len(publishes) / publish_seconds) if publish_seconds else None,
            "rss_before_mb": round(memory.start / 2**20), "rss_peak_mb": round(memory.peak / 2**20),
        })
        log(f"recipients: {campaign.audience_size:,} built in {timings['build']:.1f} s")
        log(f"judged {campaign.judged:,} and queued {written:,} in {judge_seconds:.1f} s = "
            f"{campaign.judged / judge_seconds:,.0f} recipients/s, {written / judge_seconds:,.0f} messages/s; "
            f"held back {campaign.suppressed:,} {reasons}")
        log(f"whole run {run_seconds:.1f} s; RSS {memory.start / 2**20:.0f} MB -> peak {memory.peak / 2**20:.0f} MB")
        log(f"hand-over to Celery: {len(publishes):,} task messages published to Redis in {publish_seconds:.1f} s = "
            f"{results['hand_overs_per_second'] or 0:,} /s (in a worker this runs on the publisher thread)")

        copied, copy_seconds = copy_baseline(written)
        results["raw_copy"] = {"rows": copied, "seconds": round(copy_seconds, 3),
                               "rows_per_second": round(copied / copy_seconds)}
        results["ratio_queue_to_copy"] = round((written / judge_seconds) / (copied / copy_seconds), 4)
        log(f"raw COPY of {copied:,} outbox rows: {copy_seconds:.2f} s = {copied / copy_seconds:,.0f} rows/s; "
            f"queueing runs at {results['ratio_queue_to_copy']:.3f} of COPY's rate")
        app.control.purge()  # nobody will send the bench's messages

        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / "campaign.json").write_text(json.dumps(results, indent=2) + "\n")
    finally:
        from django.db import connection

        connection.close()
        if not args.keep:
            admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
