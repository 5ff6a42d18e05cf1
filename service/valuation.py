"""What a customer's car is worth: a provider interface and a built-in depreciation model. Pure.

A store with a book-value feed (Black Book, J.D. Power, KBB...) plugs it in as a `ValuationProvider` named by
the `VALUATION_PROVIDER` setting; without one, `DepreciationModel` gives a documented rule-of-thumb figure
so equity can still be estimated. Every `Valuation` says where it came from and how it was worked out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from service.wording import dollars

DEFAULT_PROVIDER = "service.valuation.DepreciationModel"


@dataclass(frozen=True)
class VehicleFacts:
    year: int | None  # model year
    make: str = ""
    model: str = ""
    segment: str = ""  # a key of SEGMENTS ("compact_suv"); "" when not known
    mileage: int | None = None  # today's estimate (service/mileage.py)
    msrp_cents: int | None = None  # the sticker price new
    sale_price_cents: int | None = None  # what it sold for here, new or used
    sale_on: date | None = None
    sale_mileage: int | None = None
    in_service_on: date | None = None  # first sold new, when known (the factory warranty's start date)


@dataclass(frozen=True)
class Valuation:
    cents: int | None  # None when no value could be worked out; `method` says why
    source: str  # who valued it: "built-in depreciation model", "Black Book", ...
    as_of: date
    method: str


@runtime_checkable
class ValuationProvider(Protocol):
    def value(self, vehicle: VehicleFacts, on: date) -> Valuation: ...


@dataclass(frozen=True)
class Segment:
    label: str
    first_year_drop: float  # share of the price lost in the first year in service
    yearly_rate: float  # share of the remaining value lost each later year
    typical_new_cents: int | None  # a typical transaction price new, in TYPICAL_PRICE_YEAR dollars


# Rules of thumb from published depreciation studies (new cars lose about a fifth in year one and 10-15% a
# year after; trucks and SUVs hold value better, luxury cars and EVs worse) and typical 2025 US new prices.
TYPICAL_PRICE_YEAR = 2025
SEGMENTS: dict[str, Segment] = {
    "compact_car": Segment("compact car", 0.20, 0.12, 2_400_000),
    "midsize_car": Segment("midsize car", 0.20, 0.13, 3_000_000),
    "compact_suv": Segment("compact SUV", 0.18, 0.11, 3_400_000),
    "midsize_suv": Segment("midsize SUV", 0.18, 0.11, 4_400_000),
    "full_size_suv": Segment("full-size SUV", 0.18, 0.11, 6_500_000),
    "pickup": Segment("pickup", 0.15, 0.10, 5_500_000),
    "minivan": Segment("minivan", 0.20, 0.12, 4_300_000),
    "sports_car": Segment("sports car", 0.18, 0.10, 4_500_000),
    "luxury_car": Segment("luxury car", 0.25, 0.15, 6_000_000),
    "luxury_suv": Segment("luxury SUV", 0.22, 0.14, 6_500_000),
    "electric": Segment("electric vehicle", 0.28, 0.15, 5_500_000),
}
# With a price but no known segment, the all-vehicle averages; without either there is nothing to go on.
ANY_SEGMENT = Segment("any vehicle", 0.20, 0.12, None)
# Scales a make's depreciation against its segment: Toyota 0.85 loses 15% less each year.
MAKE_DEPRECIATION: dict[str, float] = {
    "toyota": 0.85, "lexus": 0.85, "porsche": 0.80, "honda": 0.88, "subaru": 0.90, "jeep": 0.95,
    "ford": 1.00, "chevrolet": 1.00, "nissan": 1.10, "bmw": 1.15, "mercedes-benz": 1.15, "audi": 1.12,
    "jaguar": 1.25, "maserati": 1.30,
}
_MAKE_ALIASES = {"mercedes": "mercedes-benz", "chevy": "chevrolet"}
MILES_PER_YEAR = 12_000
MILEAGE_RATE_PER_1000 = 0.008  # 0.8% of the value per 1,000 miles from the expected
MILEAGE_CREDIT_CAP, MILEAGE_PENALTY_CAP = 0.10, 0.30
FLOOR = 0.10  # a running car is worth at least a tenth of its price: scrap and parts
# Typical prices follow new-car inflation back in time: about 3% a year.
PRICE_INFLATION = 0.03


class DepreciationModel:
    """A rule-of-thumb value from a price, the car's age, its mileage, its make and its segment.

    Start: the MSRP if known (age counted from when it entered service); else what it sold for here (aged
    on from the sale, so a used sale price keeps its own condition and options); else the segment's typical
    new price for that model year (today's table deflated 3% a year).
    Age: from `in_service_on`, else October 1 before the model year (when new model years arrive).
    Curve: the segment's first-year drop (linear through year one), then its yearly rate compounding, both
    scaled by the make's factor; never below 10% of the start before the mileage adjustment.
    Mileage: 0.8% per 1,000 miles against 12,000 a year (from the sale's mileage when starting from a sale),
    at most +10% for low miles and -30% for high.
    Limits: no trim, options, condition, accident history, region or market swings (2021's used-car spike
    would be missed entirely); the typical prices are segment averages. Rounded to $50 so it does not look
    more exact than it is. Replace it with a book-value feed through `VALUATION_PROVIDER` for real appraisals.
    """

    source = "built-in depreciation model"

    def value(self, vehicle: VehicleFacts, on: date) -> Valuation:
        def unknown(reason: str) -> Valuation:
            return Valuation(None, self.source, on, f"unknown: {reason}")

        year = vehicle.year
        if not _is_int(year) or not 1900 < year <= on.year + 1:
            return unknown(f"a model year of {year!r} is not believable" if year is not None else "no model year")
        segment = SEGMENTS.get(_key(vehicle.segment), ANY_SEGMENT)
        make_key = _MAKE_ALIASES.get(_key(vehicle.make, "-"), _key(vehicle.make, "-"))
        factor = MAKE_DEPRECIATION.get(make_key, 1.0)
        in_service = vehicle.in_service_on if _is_date(vehicle.in_service_on) else in_service_estimate(year)
        age_now = _years(in_service, on)

        if _positive(vehicle.msrp_cents):
            start, start_text = vehicle.msrp_cents, f"from its MSRP of {dollars(vehicle.msrp_cents)}"
            kept = _retained(age_now, segment, factor)
            expected_miles, age_text = MILES_PER_YEAR * age_now, f"{age_now:.1f} years in service"
        elif _positive(vehicle.sale_price_cents) and _is_date(vehicle.sale_on) and vehicle.sale_on <= on:
            start = vehicle.sale_price_cents
            start_text = f"from its sale price of {dollars(start)} on {vehicle.sale_on:%b} {vehicle.sale_on.year}"
            age_then = _years(in_service, vehicle.sale_on)
            kept = _retained(age_now, segment, factor) / _retained(age_then, segment, factor)
            since = age_now - age_then
            sale_miles = vehicle.sale_mileage if _is_int(vehicle.sale_mileage) and vehicle.sale_mileage >= 0 else None
            expected_miles = (MILES_PER_YEAR * age_now if sale_miles is None
                              else sale_miles + MILES_PER_YEAR * _years(vehicle.sale_on, on))
            age_text = f"{age_then:.1f} to {age_now:.1f} years in service ({since:.1f} since the sale)"
        elif segment.typical_new_cents is not None:
            years_back = max(TYPICAL_PRICE_YEAR - year, 0)
            start = round(segment.typical_new_cents * (1 - PRICE_INFLATION) ** years_back)
            start_text = f"from a typical {year} {segment.label}'s new price of {dollars(start)}"
            kept = _retained(age_now, segment, factor)
            expected_miles, age_text = MILES_PER_YEAR * age_now, f"{age_now:.1f} years in service"
        else:
            return unknown("no MSRP, sale price or segment to start from")

        curve = (f"{segment.first_year_drop * factor:.0%} off the first year, then "
                 f"{segment.yearly_rate * factor:.0%} a year ({segment.label}"
                 + ("" if factor == 1.0 else f", {vehicle.make.strip()} x{factor:.2f}") + ")")
        mileage = vehicle.mileage
        if _is_int(mileage) and mileage >= 0:
            over = mileage - expected_miles
            adjust = min(max(-over / 1000 * MILEAGE_RATE_PER_1000, -MILEAGE_PENALTY_CAP), MILEAGE_CREDIT_CAP)
            adjust = adjust or 0.0  # on the expected miles say +0.0%, not -0.0%
            miles_text = (f"{mileage:,} miles against {round(expected_miles):,} expected at "
                          f"{MILES_PER_YEAR:,} a year: {adjust:+.1%}")
        else:
            adjust, miles_text = 0.0, "mileage unknown: no adjustment"
        cents = round(start * max(kept, FLOOR) * (1 + adjust) / 5_000) * 5_000
        name = " ".join(str(part) for part in (year, vehicle.make.strip(), vehicle.model.strip()) if part)
        return Valuation(cents, self.source, on, f"{name} {start_text}; {age_text}: {curve}; {miles_text}")


def provider(dotted_path: str | None = None) -> ValuationProvider:
    """An instance of the provider class named by `settings.VALUATION_PROVIDER` (default: the built-in model)."""
    # Django is imported here only, so the rest of this module stays importable and testable without it.
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.utils.module_loading import import_string

    path = dotted_path or getattr(settings, "VALUATION_PROVIDER", "") or DEFAULT_PROVIDER
    try:
        chosen = import_string(path)()
    except ImportError as exc:
        raise ImproperlyConfigured(f"VALUATION_PROVIDER {path!r} cannot be imported: {exc}") from exc
    if not isinstance(chosen, ValuationProvider):
        raise ImproperlyConfigured(f"VALUATION_PROVIDER {path!r} has no value(vehicle, on) method")
    return chosen


def in_service_estimate(model_year: int) -> date:
    """New model years reach dealers in the fall before: a 2026 model is taken as new from Oct 1, 2025."""
    return date(model_year - 1, 10, 1)


def _retained(age_years: float, segment: Segment, factor: float) -> float:
    """The share of the start price a car keeps at an age, before mileage."""
    first, yearly = min(segment.first_year_drop * factor, 0.9), min(segment.yearly_rate * factor, 0.9)
    if age_years <= 0:
        return 1.0
    if age_years <= 1:
        return 1 - first * age_years
    return (1 - first) * (1 - yearly) ** (age_years - 1)


def _years(start: date, end: date) -> float:
    return max((end - start).days, 0) / 365.25


def _key(text: Any, space: str = "_") -> str:
    return " ".join(text.lower().split()).replace(" ", space).replace("-", space) if isinstance(text, str) else ""


def _positive(value: Any) -> bool:
    return _is_int(value) and value > 0


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)
