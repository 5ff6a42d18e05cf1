"""The demo's service-to-sales part: a few leases near their end and loans nearly paid, then the nightly trade
scan run once, so equity mining, the customer page's figures and the service-lane reasons have data at once."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.db import transaction


def seed(ctx) -> None:
    from customers.models import OwnedVehicle, VehicleSale
    from service.opportunities import opportunities_scan

    rng = ctx.rng("service-deals")
    with transaction.atomic():
        for slug, rooftop in sorted(ctx.rooftops.items()):
            today = ctx.now.astimezone(ZoneInfo(rooftop.time_zone)).date()
            cars = list(OwnedVehicle.objects.filter(customer__known_at__rooftop=rooftop)
                        .order_by("id")[:40])
            for n, car in enumerate(cars):
                lease = n % 2 == 0
                sold_on = today - timedelta(days=(3 * 365 - rng.randint(20, 80)) if lease else 57 * 30)
                VehicleSale.unscoped.get_or_create(rooftop=rooftop, deal_number=f"DEMO-{car.id}", defaults={
                    "customer_id": car.customer_id, "vehicle": car, "sold_on": sold_on, "year": car.year,
                    "make": car.make, "model": car.model, "trim": car.trim, "mileage": 12,
                    "price_cents": rng.randint(26_000, 42_000) * 100,
                    **({"deal_type": "lease", "residual_cents": rng.randint(15_000, 22_000) * 100,
                        "maturity_on": sold_on + timedelta(days=3 * 365), "payment_cents": rng.randint(299, 499) * 100,
                        "term_months": 36, "miles_per_year": 12_000} if lease else
                       {"deal_type": "finance", "amount_financed_cents": rng.randint(18_000, 30_000) * 100,
                        "apr": "4.900", "term_months": 60, "first_payment_on": sold_on + timedelta(days=30),
                        "payment_cents": None}),
                })
    for rooftop in ctx.rooftops.values():
        opportunities_scan(today=ctx.now.astimezone(ZoneInfo(rooftop.time_zone)).date(), rooftop_id=rooftop.id)
