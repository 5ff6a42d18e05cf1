"""Ready to trade: each trigger's edges, the reasons staff read, and the opportunity score. Tables, no database."""

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from service.triggers import (
    WEIGHTS,
    OwnedVehicleFacts,
    Thresholds,
    Trigger,
    TriggerKind,
    WarrantyTerms,
    opportunity_score,
    trade_triggers,
    warranty_terms,
)

TODAY = date(2026, 3, 15)
# A 2019 RAV4 bought new on Jun 1, 2019: its 3-year warranty is long over; nothing else known.
RAV4 = OwnedVehicleFacts(2019, "Toyota", "RAV4", in_service_on=date(2019, 6, 1))



def one(facts: OwnedVehicleFacts, kind: TriggerKind, thresholds: Thresholds = Thresholds()) -> str | None:
    reasons = [t.reason for t in trade_triggers(facts, today=TODAY, thresholds=thresholds) if t.kind is kind]
    assert len(reasons) <= 1
    return reasons[0] if reasons else None


def test_a_car_we_know_nothing_about_triggers_nothing():
    assert trade_triggers(RAV4, today=TODAY) == ()
    assert trade_triggers(OwnedVehicleFacts(None), today=TODAY) == ()


@pytest.mark.parametrize("equity, reason", [
    (620_049, "Worth $6,200 more than owed on the 2019 Toyota RAV4"),
    (200_000, "Worth $2,000 more than owed on the 2019 Toyota RAV4"),  # exactly the line
    (199_999, None),
    (0, None),
    (-500_000, None),
    (None, None),
])
def test_equity(equity, reason):
    assert one(replace(RAV4, equity_cents=equity), TriggerKind.EQUITY) == reason


def test_equity_on_a_car_without_a_name_and_a_rooftop_that_asks_for_more():
    assert one(OwnedVehicleFacts(None, equity_cents=300_000), TriggerKind.EQUITY) == "Worth $3,000 more than owed on their car"
    assert one(replace(RAV4, equity_cents=300_000), TriggerKind.EQUITY, Thresholds(equity_min_cents=500_000)) is None
    # A line of $0 still needs equity: owing what it is worth is no reason to trade.
    assert one(replace(RAV4, equity_cents=0), TriggerKind.EQUITY, Thresholds(equity_min_cents=0)) is None


@pytest.mark.parametrize("maturity, reason", [
    (date(2026, 4, 29), "Lease ends in 45 days (April 29)"),
    (TODAY + timedelta(days=90), "Lease ends in 90 days (June 13)"),
    (TODAY + timedelta(days=91), None),
    (date(2026, 3, 16), "Lease ends in 1 day (March 16)"),
    (TODAY, "Lease ends today (March 15)"),
    (date(2026, 3, 5), "Lease ended 10 days ago (March 5)"),  # extended month to month: still worth a call
    (TODAY - timedelta(days=91), None),
    (None, None),
])
def test_lease_ending(maturity, reason):
    assert one(replace(RAV4, lease_maturity_on=maturity), TriggerKind.LEASE_ENDING) == reason


def test_a_lease_ending_next_year_says_the_year():
    assert one(replace(RAV4, lease_maturity_on=date(2027, 1, 3)), TriggerKind.LEASE_ENDING,
               Thresholds(lease_within_days=365)) == "Lease ends in 294 days (January 3, 2027)"


# Lease from Mar 15, 2025 (365 days ago), 12,000 a year allowed, from 10 miles.
LEASE = replace(RAV4, lease_start_on=date(2025, 3, 15), lease_maturity_on=date(2028, 3, 15),
                lease_miles_per_year=12_000, lease_start_mileage=10)


@pytest.mark.parametrize("changes, reason", [
    (dict(estimated_mileage=16_410), "On pace for 16,400 miles a year against 12,000 allowed"),
    (dict(estimated_mileage=13_310), "On pace for 13,300 miles a year against 12,000 allowed"),  # 10.8% over
    (dict(estimated_mileage=13_211), "On pace for 13,200 miles a year against 12,000 allowed"),  # 13,201 a year
    (dict(estimated_mileage=13_210), None),  # 13,200: exactly 10% over is not over pace
    (dict(estimated_mileage=9_000), None),
    (dict(estimated_mileage=13_290, lease_start_mileage=None), "On pace for 13,300 miles a year against 12,000 allowed"),
    # Fewer than 60 days in: one road trip is not a pace.
    (dict(estimated_mileage=5_000, lease_start_on=TODAY - timedelta(days=59)), None),
    (dict(estimated_mileage=5_000, lease_start_on=TODAY - timedelta(days=60)),
     "On pace for 30,400 miles a year against 12,000 allowed"),
    (dict(estimated_mileage=16_410, lease_maturity_on=TODAY), None),  # the lease is over
    (dict(estimated_mileage=5, lease_start_mileage=10), None),  # fewer miles than at the start: bad data
    (dict(estimated_mileage=16_410, lease_miles_per_year=0), None),
    (dict(estimated_mileage=None), None),
])
def test_over_pace_on_a_lease(changes, reason):
    assert one(replace(LEASE, **changes), TriggerKind.OVER_PACE) == reason


def test_over_pace_by_the_rooftops_percentage():
    assert one(replace(LEASE, estimated_mileage=12_710), TriggerKind.OVER_PACE, Thresholds(over_pace_percent=0)) == (
        "On pace for 12,700 miles a year against 12,000 allowed")


@pytest.mark.parametrize("left, reason", [
    (4, "4 payments left"),
    (1, "1 payment left"),
    (6, "6 payments left"),
    (7, None),
    (0, None),  # paid off: no payments to be done with
    (-2, None),
    (None, None),
])
def test_payments_left_on_a_loan(left, reason):
    assert one(replace(RAV4, payments_left=left), TriggerKind.PAYMENTS_LEFT) == reason


def test_payments_left_on_a_lease_is_the_lease_ending_instead():
    assert one(replace(LEASE, payments_left=3), TriggerKind.PAYMENTS_LEFT) is None


# Bought new Jun 1, 2023: a Toyota's 3 years / 36,000 miles end Jun 1, 2026, 78 days after TODAY.
NEW_2023 = OwnedVehicleFacts(2023, "Toyota", "RAV4", in_service_on=date(2023, 6, 1), estimated_mileage=20_000)


@pytest.mark.parametrize("changes, reason", [
    (dict(), "Factory warranty ends in about 3 months"),
    (dict(in_service_on=date(2023, 3, 20)), "Factory warranty ends in 5 days"),
    (dict(in_service_on=date(2023, 4, 15)), "Factory warranty ends in about 4 weeks"),
    (dict(in_service_on=TODAY - timedelta(days=3 * 365 + 1)), "Factory warranty ends today"),  # Mar 15, 2023 + 3 yr
    (dict(in_service_on=date(2023, 3, 14)), None),  # ended yesterday: nothing ending
    (dict(in_service_on=date(2023, 6, 14)), None),  # 91 days
    (dict(in_service_on=date(2023, 6, 13)), "Factory warranty ends in about 3 months"),  # 90 days
    # By miles: 33,000 is 3,000 short of 36,000.
    (dict(in_service_on=date(2024, 1, 1), estimated_mileage=33_000), "Factory warranty ends in about 3,000 miles"),
    (dict(in_service_on=date(2024, 1, 1), estimated_mileage=32_999), None),
    (dict(in_service_on=date(2024, 1, 1), estimated_mileage=36_001), None),  # over the miles: ended
    (dict(estimated_mileage=34_150), "Factory warranty ends in about 3 months or 1,800 miles, whichever comes first"),
    # A Hyundai's 5 years / 60,000: years to go.
    (dict(make="Hyundai"), None),
    (dict(warranty=WarrantyTerms(5, 60_000)), None),
    # No in-service date: from the fall before the model year (a 2024 model: Oct 1, 2023 + 3 years).
    (dict(year=2024, in_service_on=None), None),
    (dict(year=2023, in_service_on=None), None),  # Oct 1, 2022 + 3 = Oct 1, 2025: over
    (dict(year=None, in_service_on=None), None),
    (dict(estimated_mileage=None), "Factory warranty ends in about 3 months"),
])
def test_warranty_ending(changes, reason):
    assert one(replace(NEW_2023, **changes), TriggerKind.WARRANTY_ENDING) == reason


def test_the_model_year_stands_in_for_the_in_service_date():
    # A 2024 model: taken as new Oct 1, 2023; by Jul 1, 2026 it has 92 days left, by Jul 3, 90.
    facts = OwnedVehicleFacts(2024, "Ford", "Escape")
    assert not trade_triggers(facts, today=date(2026, 7, 1))
    assert [t.reason for t in trade_triggers(facts, today=date(2026, 7, 3))] == ["Factory warranty ends in about 3 months"]


@pytest.mark.parametrize("make, terms", [
    ("Toyota", WarrantyTerms(3, 36_000)),
    ("Hyundai", WarrantyTerms(5, 60_000)),
    ("Mercedes Benz", WarrantyTerms(4, 50_000)),
    ("Mercedes", WarrantyTerms(4, 50_000)),
    ("  bmw ", WarrantyTerms(4, 50_000)),
    ("", WarrantyTerms(3, 36_000)),
])
def test_warranty_terms_by_make_with_a_default_of_3_years_36000_miles(make, terms):
    assert warranty_terms(make) == terms


@pytest.mark.parametrize("bill, equity, reason", [
    (230_000, 50_000, "A $2,300 repair bill on a car with equity"),  # any equity, not the equity line
    (150_000, 1, "A $1,500 repair bill on a car with equity"),
    (149_999, 50_000, None),
    (230_000, 0, None),  # no equity: fix it, don't trade it
    (230_000, -100_000, None),
    (230_000, None, None),
    (0, 50_000, None),
])
def test_a_big_repair_bill_on_a_car_with_equity(bill, equity, reason):
    assert one(replace(RAV4, open_ro_total_cents=bill, equity_cents=equity), TriggerKind.REPAIR_BILL) == reason


@pytest.mark.parametrize("changes, reason", [
    (dict(newer_model_year_in_stock=2026), "The 2026 RAV4 is in stock"),
    (dict(newer_model_year_in_stock=2020), "The 2020 RAV4 is in stock"),
    (dict(newer_model_year_in_stock=2019), None),  # the same year is not newer
    (dict(newer_model_year_in_stock=None), None),
    (dict(newer_model_year_in_stock=2026, year=None), None),
    (dict(newer_model_year_in_stock=2026, model=""), "The 2026 Toyota is in stock"),
])
def test_a_newer_model_year_in_stock(changes, reason):
    assert one(replace(RAV4, **changes), TriggerKind.NEWER_IN_STOCK) == reason


def test_triggers_come_strongest_first_and_the_score_adds_their_weights():
    facts = replace(RAV4, equity_cents=620_000, payments_left=4, open_ro_total_cents=230_000,
                    newer_model_year_in_stock=2026)
    triggers = trade_triggers(facts, today=TODAY)
    assert [(t.kind, t.reason) for t in triggers] == [
        (TriggerKind.EQUITY, "Worth $6,200 more than owed on the 2019 Toyota RAV4"),
        (TriggerKind.REPAIR_BILL, "A $2,300 repair bill on a car with equity"),
        (TriggerKind.PAYMENTS_LEFT, "4 payments left"),
        (TriggerKind.NEWER_IN_STOCK, "The 2026 RAV4 is in stock"),
    ]
    assert opportunity_score(triggers) == 30 + 25 + 15 + 10 == sum(t.weight for t in triggers)
    assert all(t.weight == WEIGHTS[t.kind] for t in triggers)


def test_the_score_sorts_customers_and_counts_a_households_cars_together():
    lease_ending = trade_triggers(replace(RAV4, lease_maturity_on=date(2026, 4, 29)), today=TODAY)
    equity = trade_triggers(replace(RAV4, equity_cents=620_000), today=TODAY)
    nothing = trade_triggers(RAV4, today=TODAY)
    ranked = sorted([("nothing", nothing), ("lease", lease_ending), ("equity", equity)],
                    key=lambda item: opportunity_score(item[1]), reverse=True)
    assert [name for name, _ in ranked] == ["equity", "lease", "nothing"]
    assert opportunity_score([*lease_ending, *equity]) == 55
    assert opportunity_score([]) == 0
    assert opportunity_score([Trigger(TriggerKind.EQUITY, "x", 7)]) == 7


@pytest.mark.parametrize("facts", [
    OwnedVehicleFacts("2019", "Toyota", "RAV4", equity_cents="6200", payments_left="4",  # type: ignore[arg-type]
                      lease_maturity_on=datetime(2026, 4, 1), estimated_mileage=-5,  # type: ignore[arg-type]
                      open_ro_total_cents=None, newer_model_year_in_stock="2026"),  # type: ignore[arg-type]
    OwnedVehicleFacts(3000, in_service_on="2023-06-01", estimated_mileage=True),  # type: ignore[arg-type]
    OwnedVehicleFacts(2019, lease_start_on=date(2025, 3, 15), lease_miles_per_year=True,  # type: ignore[arg-type]
                      estimated_mileage=99_999),
])
def test_odd_facts_trigger_nothing_rather_than_raise(facts):
    assert trade_triggers(facts, today=TODAY) == ()


@pytest.mark.parametrize("bad", [dict(equity_min_cents=-1), dict(lease_within_days="90"), dict(over_pace_percent=True)])
def test_a_rooftops_bad_threshold_is_refused_when_it_is_saved(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        Thresholds(**bad)


def test_today_must_be_a_date():
    with pytest.raises(TypeError):
        trade_triggers(RAV4, today=datetime(2026, 3, 15))  # type: ignore[arg-type]
