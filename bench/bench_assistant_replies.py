"""Assistant reply time through `shopper_says` on the real database, with a raw baseline.

Run with `make bench ARGS=assistant_replies` (DATABASE_URL/REDIS_URL come from scripts/dev.py). It creates its own
database `crm_bench_assistant`, migrates it, seeds one rooftop (six salespeople, 600 vehicles, 300 appointments),
then times whole replies: questions (hours, inventory, price, trade-in, financing) and whole bookings (offer,
pick, yes with name and phone → customer, appointment, routed lead). Prints p50/p99 per kind of message, writes
bench/results/assistant_replies.json and drops the database (--keep keeps it).

Baseline: `understand()` alone plus the two message INSERTs in one transaction — what any reply must do.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "crm_bench_assistant"
QUESTIONS = ["what are your hours?", "where are you located", "do you have a white rav4?",
             "how much is the blue camry", "any used tacomas under 35k?", "what's my 2018 honda civic worth, 60k miles",
             "do you guys do financing", "is service open saturday?"]


def _db_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--bookings", type=int, default=60)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    base_url = os.environ["DATABASE_URL"]
    with psycopg.connect(_db_url(base_url, "postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB_NAME}")
    os.environ.update(DATABASE_URL=_db_url(base_url, DB_NAME), DEBUG="false", DJANGO_SETTINGS_MODULE="crm.settings")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtZmllbGQtZW5jcnlwdGlvbi1rZXktMDAwMDA=")
    os.environ.pop("ASSISTANT_LLM_BASE_URL", None)  # the engine's own time; a model's is the model's
    print(f"migrating {DB_NAME} …", flush=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,
                   env=dict(os.environ), check=True)

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from assistant.models import ConversationMessage
    from assistant.services import conversation_open, shopper_says
    from assistant.understanding import understand
    from customers.models import Appointment, Customer, CustomerRooftop
    from leads.models import InventoryVehicle
    from leads.vin import with_check_digit
    from rooftops.models import DealerGroup, Role, Rooftop, StaffProfile, StaffRole

    rng = random.Random(15)
    group = DealerGroup.objects.create(name="Bench Group", slug="bench")
    rooftop = Rooftop.objects.create(
        dealer_group=group, name="Bench Toyota", slug="bench-toyota", time_zone="America/New_York",
        address="1 Bench Way", business_hours={d: [["09:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")})
    people = []
    for n in range(6):
        user = User.objects.create(username=f"sales{n}@bench.test")
        StaffProfile.objects.create(user=user, dealer_group=group, display_name=f"Seller {n}")
        StaffRole.objects.create(user=user, rooftop=rooftop, role=Role.SALESPERSON)
        people.append(user)
    models = [("Toyota", "RAV4"), ("Toyota", "Camry"), ("Toyota", "Tacoma"), ("Toyota", "Highlander"),
              ("Toyota", "Corolla"), ("Honda", "Civic")]
    InventoryVehicle.unscoped.bulk_create([InventoryVehicle(
        rooftop=rooftop, vin=with_check_digit(f"2T3P1RFV0RC{n:06d}"), stock_number=f"B{n:05d}",
        year=rng.choice([2022, 2023, 2024, 2025]), make=models[n % 6][0], model=models[n % 6][1],
        exterior_color=rng.choice(["White", "Blue", "Black", "Silver", "Red"]),
        condition=rng.choice(["new", "used"]), price_cents=rng.randint(22_000, 52_000) * 100) for n in range(600)])
    someone = Customer.unscoped.create(dealer_group=group, first_name="Busy")
    CustomerRooftop.objects.create(customer=someone, rooftop=rooftop)
    now = timezone.now()
    Appointment.unscoped.bulk_create([Appointment(
        rooftop=rooftop, customer=someone, department=rng.choice(["sales", "service"]), kind="test_drive",
        scheduled_at=(now + timedelta(days=rng.randint(1, 14))).replace(minute=rng.choice([0, 30]), second=0,
                                                                       microsecond=0),
        assigned_to=rng.choice(people)) for _ in range(300)])

    timings: dict[str, list[float]] = defaultdict(list)
    results: dict = {"cores": os.cpu_count()}
    try:
        for n in range(20):  # warm-up
            shopper_says(conversation=conversation_open(rooftop=rooftop, channel="api"), text=QUESTIONS[n % 8])
        for n in range(args.questions):
            conversation = conversation_open(rooftop=rooftop, channel="api")
            text = QUESTIONS[n % len(QUESTIONS)]
            t0 = time.perf_counter()
            shopper_says(conversation=conversation, text=text)
            timings["question"].append(time.perf_counter() - t0)
        booked = 0
        for n in range(args.bookings):
            conversation = conversation_open(rooftop=rooftop, channel="api")
            steps = [("offer", "can I test drive a rav4 saturday morning"), ("pick", "the second one"),
                     ("book", f"yes, Pat Shopper{n} 617-555-{n % 10000:04d}")]
            for kind, text in steps:
                t0 = time.perf_counter()
                shopper_says(conversation=conversation, text=text)
                timings[kind].append(time.perf_counter() - t0)
            conversation.refresh_from_db()
            booked += conversation.appointment_id is not None
        results["bookings_made"] = booked
        baseline = []
        conversation = conversation_open(rooftop=rooftop, channel="api")
        for n in range(args.questions):
            text = QUESTIONS[n % len(QUESTIONS)]
            t0 = time.perf_counter()
            u = understand(text, now=timezone.now(), time_zone=rooftop.time_zone)
            with transaction.atomic():
                ConversationMessage.objects.create(conversation=conversation, author="shopper", text=text,
                                                   intent=u.intent)
                ConversationMessage.objects.create(conversation=conversation, author="assistant", text="ok",
                                                   intent=u.intent)
            baseline.append(time.perf_counter() - t0)
        timings["baseline"] = baseline
        print(f"{'message':<10} {'n':>5} {'p50 ms':>8} {'p99 ms':>8}")
        for kind, values in timings.items():
            p50, p99 = _pct(values, 0.5) * 1000, _pct(values, 0.99) * 1000
            results[kind] = {"n": len(values), "p50_ms": round(p50, 2), "p99_ms": round(p99, 2)}
            print(f"{kind:<10} {len(values):>5} {p50:>8.2f} {p99:>8.2f}")
        print(f"bookings made: {booked}/{args.bookings}")
        out = ROOT / "bench" / "results" / "assistant_replies.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            with psycopg.connect(_db_url(base_url, "postgres"), autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
