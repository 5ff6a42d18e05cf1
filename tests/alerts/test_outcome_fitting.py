"""The manager fits the event weights to the store's own sales and chooses which weights score shoppers."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import ScoringSettings
from alerts.selectors import outcome_rows, scoring_config
from factories import LeadFactory, make_customer
from leads.models import Lead
from shopper_events import identify, send, track

pytestmark = pytest.mark.django_db


def store_history(world, *, shoppers: int = 120, buyers_every: int = 4):
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


def test_outcome_rows_read_events_before_the_lead_and_the_sale_within_30_days(world):
    store_history(world, shoppers=12)
    rows = outcome_rows(rooftop_id=world.rooftop.id, now=timezone.now())
    assert len(rows) == 12 and sum(r.sold for r in rows) == 3
    assert all(e.occurred_at <= r.reference for r in rows for e in r.events)
    assert not any(e.kind == "credit_application_started" for r in rows for e in r.events)


def test_a_manager_fits_compares_and_adopts_the_fitted_weights_then_undoes(client, world):
    store_history(world)
    client.force_login(world.manager)
    response = client.post("/settings/scoring/", {"rooftop": world.rooftop.id, "action": "fit"}, follow=True)
    html = response.content.decode()
    assert "Hand-set rules" in html and "Fitted weights" in html and "Use the fitted weights" in html
    fit = ScoringSettings.unscoped.get(rooftop=world.rooftop).fit_result
    assert fit["ok"] and fit["fitted"]["auc"] > fit["rules"]["auc"]
    assert scoring_config(rooftop_id=world.rooftop.id).rules.event_weight("trade_in_calculator_completed") == 12

    client.post("/settings/scoring/", {"rooftop": world.rooftop.id, "action": "adopt"})
    row = ScoringSettings.unscoped.get(rooftop=world.rooftop)
    rules = scoring_config(rooftop_id=world.rooftop.id).rules
    assert row.weights_source == "fitted"
    assert rules.event_weight("trade_in_calculator_completed") == fit["event_weights"]["trade_in_calculator_completed"]
    assert "Now scoring with <strong>fitted</strong>" in client.get("/settings/scoring/").content.decode()

    client.post("/settings/scoring/", {"rooftop": world.rooftop.id, "action": "undo"})
    assert ScoringSettings.unscoped.get(rooftop=world.rooftop).weights_source == "hand-set"
    assert scoring_config(rooftop_id=world.rooftop.id).rules.event_weight("trade_in_calculator_completed") == 12


def test_without_enough_history_the_page_says_what_is_missing(client, world):
    store_history(world, shoppers=10)
    client.force_login(world.manager)
    html = client.post("/settings/scoring/", {"rooftop": world.rooftop.id, "action": "fit"}, follow=True).content.decode()
    assert "Not enough data to fit yet: need at least 60 shoppers" in html
    response = client.post("/settings/scoring/", {"rooftop": world.rooftop.id, "action": "adopt"}, follow=True)
    assert "no successful fit" in response.content.decode()
    assert scoring_config(rooftop_id=world.rooftop.id).customized is False


def test_only_the_stores_managers_may_fit(client, world):
    for user in (world.bdc, world.outsider):
        client.force_login(user)
        assert client.post("/settings/scoring/", {"rooftop": world.rooftop.id, "action": "fit"}).status_code == 404
    assert not ScoringSettings.unscoped.filter(rooftop=world.rooftop).exists()
