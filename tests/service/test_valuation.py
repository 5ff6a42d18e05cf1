"""Valuation: the provider interface and the built-in depreciation model. Tables, no database."""

import re
import subprocess
import sys
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured

from service.valuation import (
    DepreciationModel,
    Valuation,
    ValuationProvider,
    VehicleFacts,
    in_service_estimate,
    provider,
)

ON = date(2026, 3, 15)
MODEL = DepreciationModel()
# Exactly four years in service (1461 days / 365.25), a Ford (factor 1.0), a compact SUV: 18% then 11% a year.
FOUR_YEARS = VehicleFacts(2022, "Ford", "Escape", "compact_suv", 48_000, msrp_cents=3_000_000,
                          in_service_on=ON - timedelta(days=1461))


def value(vehicle: VehicleFacts) -> int:
    result = MODEL.value(vehicle, ON)
    assert result.cents is not None, result.method
    return result.cents


def test_the_model_by_hand_four_years_on_the_expected_miles():
    kept = (1 - 0.18) * (1 - 0.11) ** 3  # 57.8%
    assert value(FOUR_YEARS) == round(3_000_000 * kept / 5_000) * 5_000 == 1_735_000
    result = MODEL.value(FOUR_YEARS, ON)
    assert (result.source, result.as_of) == ("built-in depreciation model", ON)
    assert result.method == ("2022 Ford Escape from its MSRP of $30,000; 4.0 years in service: 18% off the first "
                             "year, then 11% a year (compact SUV); 48,000 miles against 48,000 expected at 12,000 "
                             "a year: +0.0%")


@pytest.mark.parametrize("mileage, adjust", [
    (58_000, -0.08),  # 10,000 over: 0.8% per 1,000
    (38_000, +0.08),
    (0, +0.10),  # the low-mileage credit is capped at 10%
    (200_000, -0.30),  # the high-mileage penalty at 30%
])
def test_mileage_against_12000_a_year(mileage, adjust):
    kept = (1 - 0.18) * (1 - 0.11) ** 3
    vehicle = VehicleFacts(**{**FOUR_YEARS.__dict__, "mileage": mileage})
    assert value(vehicle) == round(3_000_000 * kept * (1 + adjust) / 5_000) * 5_000


@pytest.mark.parametrize("worth_more, worth_less", [
    (FOUR_YEARS, VehicleFacts(**{**FOUR_YEARS.__dict__, "in_service_on": ON - timedelta(days=2000)})),  # older
    (FOUR_YEARS, VehicleFacts(**{**FOUR_YEARS.__dict__, "mileage": 60_000})),  # more miles
    (VehicleFacts(**{**FOUR_YEARS.__dict__, "make": "Toyota"}), VehicleFacts(**{**FOUR_YEARS.__dict__, "make": "Nissan"})),
    (VehicleFacts(**{**FOUR_YEARS.__dict__, "segment": "pickup"}), VehicleFacts(**{**FOUR_YEARS.__dict__, "segment": "luxury_car"})),
    (VehicleFacts(**{**FOUR_YEARS.__dict__, "make": "Mercedes"}), VehicleFacts(**{**FOUR_YEARS.__dict__, "make": "Jaguar"})),
])
def test_the_model_moves_the_way_the_market_does(worth_more, worth_less):
    assert value(worth_more) > value(worth_less)


def test_make_and_segment_names_are_read_loosely():
    assert value(VehicleFacts(**{**FOUR_YEARS.__dict__, "make": " toyota ", "segment": "Compact SUV"})) == value(
        VehicleFacts(**{**FOUR_YEARS.__dict__, "make": "Toyota", "segment": "compact-suv"}))
    assert "Mercedes-Benz x1.15" in MODEL.value(VehicleFacts(**{**FOUR_YEARS.__dict__, "make": "Mercedes-Benz"}), ON).method


def test_the_start_is_the_msrp_then_the_sale_price_then_the_segments_typical_price():
    bought_used = VehicleFacts(2022, "Ford", "Escape", "compact_suv", 48_000, sale_price_cents=2_000_000,
                               sale_on=ON - timedelta(days=1461 - 365), sale_mileage=12_000,
                               in_service_on=ON - timedelta(days=1461))
    result = MODEL.value(bought_used, ON)
    # Aged on from the sale: from year 1 (82% kept) to year 4 (57.8% kept), on the miles expected since the sale.
    assert result.cents == round(2_000_000 * (0.89 ** 3) / 5_000) * 5_000
    assert "from its sale price of $20,000 on Mar 2023" in result.method
    with_msrp = MODEL.value(VehicleFacts(**{**bought_used.__dict__, "msrp_cents": 3_000_000}), ON)
    assert "from its MSRP of $30,000" in with_msrp.method
    typical = MODEL.value(VehicleFacts(2022, "Ford", "Escape", "compact_suv", 48_000,
                                       in_service_on=ON - timedelta(days=1461)), ON)
    # The 2025 typical price of $34,000, deflated 3% a year for three years.
    assert "from a typical 2022 compact SUV's new price of $31,030" in typical.method
    assert typical.cents == round(3_400_000 * 0.97 ** 3 * (0.82 * 0.89 ** 3) / 5_000) * 5_000


def test_a_new_car_keeps_its_price_and_an_old_one_keeps_at_least_a_tenth():
    brand_new = VehicleFacts(2026, "Ford", "Escape", "compact_suv", None, msrp_cents=3_000_000, in_service_on=ON)
    assert value(brand_new) == 3_000_000
    ancient = VehicleFacts(1990, "Jaguar", "XJ6", "luxury_car", None, msrp_cents=5_000_000)
    assert value(ancient) == 500_000


def test_age_comes_from_the_fall_before_the_model_year_when_the_in_service_date_is_unknown():
    assert in_service_estimate(2026) == date(2025, 10, 1)
    assert "5.5 years in service" in MODEL.value(VehicleFacts(2021, "Ford", "Escape", "compact_suv"), ON).method


@pytest.mark.parametrize("vehicle, reason", [
    (VehicleFacts(None, "Ford", "Escape", "compact_suv"), "unknown: no model year"),
    (VehicleFacts(2028, "Ford", "Escape", "compact_suv"), "unknown: a model year of 2028 is not believable"),
    (VehicleFacts(19, "Ford", "Escape", "compact_suv"), "unknown: a model year of 19 is not believable"),
    (VehicleFacts("2020", "Ford", "Escape", "compact_suv"), "unknown: a model year of '2020' is not believable"),  # type: ignore[arg-type]
    (VehicleFacts(2020, "Ford", "Escape", ""), "unknown: no MSRP, sale price or segment to start from"),
    (VehicleFacts(2020, "Ford", "Escape", "spaceship", msrp_cents=-5, sale_price_cents=0),
     "unknown: no MSRP, sale price or segment to start from"),
    # A sale after the valuation date cannot be aged back.
    (VehicleFacts(2020, "Ford", "Escape", "", sale_price_cents=2_000_000, sale_on=ON + timedelta(days=1)),
     "unknown: no MSRP, sale price or segment to start from"),
])
def test_what_cannot_be_valued_says_why(vehicle, reason):
    result = MODEL.value(vehicle, ON)
    assert (result.cents, result.method) == (None, reason)


def test_odd_mileage_is_ignored_not_fatal():
    result = MODEL.value(VehicleFacts(**{**FOUR_YEARS.__dict__, "mileage": -5}), ON)
    assert result.cents == value(VehicleFacts(**{**FOUR_YEARS.__dict__, "mileage": None}))
    assert result.method.endswith("mileage unknown: no adjustment")


class FixedBook:
    """A stand-in book-value feed, as a store's own provider would be."""

    def value(self, vehicle: VehicleFacts, on: date) -> Valuation:
        return Valuation(1_000_000, "Fixed Book", on, "fixed")


class NotAProvider:
    pass


def test_the_provider_is_the_built_in_model_unless_a_setting_names_another(monkeypatch):
    monkeypatch.setattr("django.conf.settings", SimpleNamespace())
    assert isinstance(provider(), DepreciationModel)
    monkeypatch.setattr("django.conf.settings", SimpleNamespace(VALUATION_PROVIDER=f"{__name__}.FixedBook"))
    chosen = provider()
    assert isinstance(chosen, FixedBook) and isinstance(chosen, ValuationProvider)
    assert chosen.value(FOUR_YEARS, ON).source == "Fixed Book"
    assert isinstance(provider("service.valuation.DepreciationModel"), DepreciationModel)


@pytest.mark.parametrize("path, message", [
    ("service.valuation.NoSuchBook", "cannot be imported"),
    ("nowhere.at_all.Book", "cannot be imported"),
    (f"{__name__}.NotAProvider", "has no value(vehicle, on) method"),
])
def test_a_wrong_provider_setting_fails_loudly_with_its_name(monkeypatch, path, message):
    monkeypatch.setattr("django.conf.settings", SimpleNamespace(VALUATION_PROVIDER=path))
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        provider()


def test_the_decision_modules_import_without_django():
    code = ("import sys; import service.payoff, service.mileage, service.valuation, service.triggers; "
            "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(__file__).parents[2]))
