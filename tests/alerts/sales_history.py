"""A store's past sales for fit tests: shoppers with website events before their first lead, some of whom bought."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from factories import LeadFactory, make_customer
from leads.models import Lead
from shopper_events import identify, send, track


def store_history(world, *, shoppers: int = 120, buyers_every: int = 4) -> None:
    """Leads 40–100 days old; buyers finished the trade-in calculator before their lead, others mostly chatted."""
    rng = random.Random(5)
    now = timezone.now()
    for n in range(shoppers):
        customer = make_customer(world.rooftop, first_name=f"Hist{n}")
        created = now - timedelta(days=rng.uniform(40, 100))
        sold = n % buyers_every == 0
        LeadFactory(rooftop=world.rooftop, customer=customer, created_at=created, assigned_to=world.salesperson,
                    status=Lead.Status.SOLD if sold else Lead.Status.LOST,
                    sold_at=created + timedelta(days=rng.uniform(1, 20)) if sold else None)
        anonymous_id = f"hist-{n}"
        identify(world.rooftop, anonymous_id, customer)
        raws = [track("asc_pageview", at=created - timedelta(hours=rng.uniform(1, 300)), anonymous_id=anonymous_id)
                for _ in range(rng.randint(1, 8))]
        if sold and rng.random() < 0.85 or not sold and rng.random() < 0.05:
            raws.append(track("trade_in_calculator_completed", at=created - timedelta(hours=rng.uniform(1, 48)),
                              anonymous_id=anonymous_id, estimated_value=12000))
        raws += [track("chat_started", at=created - timedelta(hours=rng.uniform(1, 48)), anonymous_id=anonymous_id)
                 for _ in range(rng.randint(0, 3))]
        # After the lead: must not count toward the score at the moment the lead arrived.
        raws.append(track("credit_application_started", at=created + timedelta(days=2), anonymous_id=anonymous_id))
        send(world.rooftop, raws, received_at=created + timedelta(days=3))
