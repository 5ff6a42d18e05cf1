"""Audiences against the real database: each trigger and behaviour, store against group scope, any against all."""

from datetime import datetime, timezone

import pytest

from alerts.models import ShopperIntent
from factories import RooftopFactory
from marketing.audience import AudienceSpec
from marketing.selectors import audience_ids, audience_preview, scope_of
from marketing_world import ago, customer, listed, owned, repair_order, subscribe, vdp_view

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc)


def ids(world, spec: dict, *, group=False):
    scope = scope_of(dealer_group_id=world.rooftop.dealer_group_id, rooftop_id=None if group else world.rooftop.id)
    return set(audience_ids(spec=AudienceSpec.parse(spec), scope=scope, now=NOW))


def test_trade_cycle_triggers_come_from_the_nightly_scan_kinds(world):
    lease = customer(world.rooftop, "Lena")
    owned(lease, world.rooftop, kinds=["lease_ending"], reasons=["Lease ends in 40 days (January 10)"])
    equity = customer(world.rooftop, "Eq")
    owned(equity, world.rooftop, kinds=["equity", "over_pace"])
    paid = customer(world.rooftop, "Pay")
    owned(paid, world.rooftop, kinds=["payments_left"])
    nothing = customer(world.rooftop, "Nil")
    owned(nothing, world.rooftop, kinds=["warranty_ending"])
    assert ids(world, {"triggers": ["lease_maturing"]}) == {lease.pk}
    assert ids(world, {"triggers": ["positive_equity"]}) == {equity.pk}
    assert ids(world, {"triggers": ["loan_nearly_paid"]}) == {paid.pk}
    assert ids(world, {"triggers": ["lease_maturing", "positive_equity", "loan_nearly_paid"]}) == {
        lease.pk, equity.pk, paid.pk}


def test_a_store_campaign_sees_its_store_and_a_group_campaign_every_store(world):
    here = customer(world.rooftop, "Here")
    owned(here, world.rooftop, kinds=["equity"])
    there = customer(world.other_rooftop, "There")
    owned(there, world.other_rooftop, kinds=["equity"])
    elsewhere = RooftopFactory(name="Other Group Motors")
    stranger = customer(elsewhere, "Stranger")
    owned(stranger, elsewhere, kinds=["equity"])
    assert ids(world, {"triggers": ["positive_equity"]}) == {here.pk}
    assert ids(world, {"triggers": ["positive_equity"]}, group=True) == {here.pk, there.pk}
    # A store of another group named as the scope finds nobody rather than that group's customers.
    scope = scope_of(dealer_group_id=world.rooftop.dealer_group_id, rooftop_id=elsewhere.id)
    assert audience_ids(spec=AudienceSpec.parse({"triggers": ["positive_equity"]}), scope=scope, now=NOW) == []


def test_merged_and_erased_records_are_never_in_an_audience(world):
    kept = customer(world.rooftop, "Kept")
    owned(kept, world.rooftop, kinds=["equity"])
    merged = customer(world.rooftop, "Merged", merged_into=kept)
    owned(merged, world.rooftop, kinds=["equity"])
    erased = customer(world.rooftop, "Erased", erased_at=NOW)
    owned(erased, world.rooftop, kinds=["equity"])
    assert ids(world, {"triggers": ["positive_equity"]}) == {kept.pk}


def test_service_due_by_six_months_or_by_five_thousand_miles_since_the_last_repair_order(world):
    old = customer(world.rooftop, "Old")
    repair_order(old, world.rooftop, opened_at=ago(NOW, days=200))
    recent = customer(world.rooftop, "Recent")
    repair_order(recent, world.rooftop, opened_at=ago(NOW, days=400))
    repair_order(recent, world.rooftop, opened_at=ago(NOW, days=60))  # only the latest RO counts
    driven = customer(world.rooftop, "Driven")
    car = owned(driven, world.rooftop, mileage=35_000)
    repair_order(driven, world.rooftop, opened_at=ago(NOW, days=60), mileage_in=30_000, vehicle=car)
    short = customer(world.rooftop, "Short")
    car = owned(short, world.rooftop, mileage=34_999)
    repair_order(short, world.rooftop, opened_at=ago(NOW, days=60), mileage_in=30_000, vehicle=car)
    elsewhere = customer(world.other_rooftop, "Elsewhere")
    repair_order(elsewhere, world.other_rooftop, opened_at=ago(NOW, days=300))
    assert ids(world, {"triggers": ["service_due"]}) == {old.pk, driven.pk}
    assert ids(world, {"triggers": ["service_due"]}, group=True) == {old.pk, driven.pk, elsewhere.pk}


def test_no_visit_in_twelve_months_needs_a_visit_before_and_none_since(world):
    lapsed = customer(world.rooftop, "Lapsed")
    repair_order(lapsed, world.rooftop, opened_at=ago(NOW, days=400))
    back = customer(world.rooftop, "Back")
    repair_order(back, world.rooftop, opened_at=ago(NOW, days=400))
    repair_order(back, world.rooftop, opened_at=ago(NOW, days=30))
    customer(world.rooftop, "Never")  # never serviced here: not "lapsed"
    assert ids(world, {"triggers": ["no_visit_12_months"]}) == {lapsed.pk}


def test_viewed_models_match_make_and_model_or_model_alone_within_the_days_chosen(world):
    rav4 = listed(world.rooftop, make="Toyota", model="RAV4")
    camry = listed(world.rooftop, make="Toyota", model="Camry", stock_number="C1")
    viewer = customer(world.rooftop, "Viewer")
    vdp_view(viewer, rav4, at=ago(NOW, days=10))
    stale = customer(world.rooftop, "Stale")
    vdp_view(stale, rav4, at=ago(NOW, days=40))
    other_model = customer(world.rooftop, "Camry")
    vdp_view(other_model, camry, at=ago(NOW, days=1))
    anonymous = customer(world.rooftop, "Anon")
    vdp_view(anonymous, rav4, at=ago(NOW, days=1), identified=False)
    assert ids(world, {"viewed_models": ["Toyota RAV4"], "viewed_days": 30}) == {viewer.pk}
    assert ids(world, {"viewed_models": "rav4", "viewed_days": 60}) == {viewer.pk, stale.pk}
    assert ids(world, {"viewed_models": ["Honda Civic"]}) == set()


def test_a_shopper_identified_after_browsing_is_found_through_their_scoring_state(world):
    rav4 = listed(world.rooftop)
    later = customer(world.rooftop, "Later")
    visitor = vdp_view(later, rav4, at=ago(NOW, days=3), identified=False)
    ShopperIntent.objects.create(rooftop=world.rooftop, visitor=visitor, customer=later, viewed_vins=[rav4.vin],
                                 last_event_at=ago(NOW, days=3))
    assert ids(world, {"viewed_models": ["Toyota RAV4"]}) == {later.pk}


def test_price_drop_subscribers_count_while_subscribed_and_the_car_is_listed(world):
    car = listed(world.rooftop)
    sold = listed(world.rooftop, status="sold", stock_number="S1")
    active = customer(world.rooftop, "Active")
    subscribe(active, car)
    cancelled = customer(world.rooftop, "Cancelled")
    subscribe(cancelled, car, cancelled_at=NOW)
    gone = customer(world.rooftop, "Gone")
    subscribe(gone, sold)
    assert ids(world, {"price_drop_subscribers": True}) == {active.pk}


def test_match_any_is_the_union_and_match_all_the_intersection(world):
    rav4 = listed(world.rooftop)
    both = customer(world.rooftop, "Both")
    owned(both, world.rooftop, kinds=["equity"])
    vdp_view(both, rav4, at=ago(NOW, days=2))
    equity_only = customer(world.rooftop, "Equity")
    owned(equity_only, world.rooftop, kinds=["equity"])
    viewer_only = customer(world.rooftop, "Viewer")
    vdp_view(viewer_only, rav4, at=ago(NOW, days=2))
    spec = {"triggers": ["positive_equity"], "viewed_models": ["RAV4"]}
    assert ids(world, {**spec, "match": "any"}) == {both.pk, equity_only.pk, viewer_only.pk}
    assert ids(world, {**spec, "match": "all"}) == {both.pk}


def test_the_preview_counts_the_audience_and_says_why_each_sampled_customer_matched(world):
    lease = customer(world.rooftop, "Lena", last_name="Lease")
    owned(lease, world.rooftop, kinds=["lease_ending"], reasons=["Lease ends in 40 days (January 10, 2027)"])
    for n in range(12):
        owned(customer(world.rooftop, f"C{n}"), world.rooftop, kinds=["lease_ending"], reasons=["Lease ends soon"])
    preview = audience_preview(dealer_group_id=world.rooftop.dealer_group_id, rooftop_id=world.rooftop.id,
                               spec={"triggers": ["lease_maturing"]}, sample=5, now=NOW)
    assert preview.count == 13 and len(preview.sample) == 5 and not preview.error
    assert all(row.store == "Lakeside Test Toyota" and row.why.startswith("Lease ends") for row in preview.sample)
    everyone = audience_preview(dealer_group_id=world.rooftop.dealer_group_id, rooftop_id=None,
                                spec=AudienceSpec.parse({"triggers": ["lease_maturing"]}), sample=50, now=NOW)
    row = next(r for r in everyone.sample if r.customer_id == lease.pk)
    assert (row.name, row.why) == ("Lena Lease", "Lease ends in 40 days (January 10, 2027)")


@pytest.mark.parametrize("spec, words", [
    ({"triggers": ["lease_maturing", "bogus"]}, "Unknown trigger 'bogus'"),
    ({"viewed_days": "soon", "viewed_models": ["RAV4"]}, "must be a number"),
    ({}, "Choose at least one"),
    ("not a dict", "must be a set of choices"),
])
def test_a_preview_of_an_audience_that_cannot_be_built_says_why_instead_of_failing(world, spec, words):
    preview = audience_preview(dealer_group_id=world.rooftop.dealer_group_id, rooftop_id=None, spec=spec, now=NOW)
    assert preview.count == 0 and preview.sample == [] and words in preview.error
