"""When a service customer is ready to trade. Pure: what we know about their car and `today` in, triggers out.

Each trigger is one reason a salesperson can say out loud ("4 payments left"), with a weight; a customer's
opportunity score is the sum of their triggers' weights, so the sales list sorts by how many good reasons
there are to call, and the strongest (equity, a big repair bill, a lease ending) count most.
Thresholds are per rooftop; the defaults are what issue 13 asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from enum import Enum
from typing import Any

from service.payoff import add_months
from service.valuation import in_service_estimate
from service.wording import count, day_month, dollars

# Fewer days of a lease than this say more about one trip than about the driver's pace.
MIN_PACE_DAYS = 60


class TriggerKind(str, Enum):
    EQUITY = "equity"
    LEASE_ENDING = "lease_ending"
    OVER_PACE = "over_pace"  # driving past the lease's mileage allowance
    PAYMENTS_LEFT = "payments_left"
    WARRANTY_ENDING = "warranty_ending"
    REPAIR_BILL = "repair_bill"
    NEWER_IN_STOCK = "newer_in_stock"


# Equity is what lets a customer trade at a similar payment; a big repair bill or a lease ending force a
# decision soon; the rest are good openers.
WEIGHTS: dict[TriggerKind, int] = {
    TriggerKind.EQUITY: 30,
    TriggerKind.REPAIR_BILL: 25,
    TriggerKind.LEASE_ENDING: 25,
    TriggerKind.PAYMENTS_LEFT: 15,
    TriggerKind.WARRANTY_ENDING: 15,
    TriggerKind.OVER_PACE: 15,
    TriggerKind.NEWER_IN_STOCK: 10,
}


@dataclass(frozen=True)
class WarrantyTerms:
    years: int
    miles: int


# Basic ("bumper to bumper") factory warranties, whichever comes first; the powertrain cover runs longer.
DEFAULT_WARRANTY = WarrantyTerms(3, 36_000)
FACTORY_WARRANTY: dict[str, WarrantyTerms] = {
    "hyundai": WarrantyTerms(5, 60_000), "kia": WarrantyTerms(5, 60_000), "genesis": WarrantyTerms(5, 60_000),
    "mitsubishi": WarrantyTerms(5, 60_000), "jaguar": WarrantyTerms(5, 60_000),
    "lexus": WarrantyTerms(4, 50_000), "acura": WarrantyTerms(4, 50_000), "bmw": WarrantyTerms(4, 50_000),
    "mercedes-benz": WarrantyTerms(4, 50_000), "audi": WarrantyTerms(4, 50_000), "cadillac": WarrantyTerms(4, 50_000),
    "lincoln": WarrantyTerms(4, 50_000), "volvo": WarrantyTerms(4, 50_000), "porsche": WarrantyTerms(4, 50_000),
    "tesla": WarrantyTerms(4, 50_000), "infiniti": WarrantyTerms(4, 60_000),
}


def warranty_terms(make: str) -> WarrantyTerms:
    """The make's basic factory warranty, else 3 years / 36,000 miles (the most common)."""
    key = "-".join(make.lower().split()) if isinstance(make, str) else ""
    return FACTORY_WARRANTY.get({"mercedes": "mercedes-benz"}.get(key, key), DEFAULT_WARRANTY)


@dataclass(frozen=True)
class OwnedVehicleFacts:
    """What is known about one owned car, loaded for this decision. None means not known."""

    year: int | None  # model year
    make: str = ""
    model: str = ""
    equity_cents: int | None = None  # trade value - payoff (service/equity.py)
    lease_maturity_on: date | None = None  # set for a lease only
    lease_start_on: date | None = None
    lease_miles_per_year: int | None = None
    lease_start_mileage: int | None = None  # None: taken as 0, a new car
    estimated_mileage: int | None = None  # service/mileage.py
    payments_left: int | None = None  # service/payoff.py
    in_service_on: date | None = None  # None: the fall before the model year
    warranty: WarrantyTerms | None = None  # None: FACTORY_WARRANTY by make
    open_ro_total_cents: int = 0
    newer_model_year_in_stock: int | None = None  # the newest year of the same make and model on the lot

    @property
    def name(self) -> str:
        return " ".join(str(part) for part in (self.year, self.make.strip(), self.model.strip()) if part)


@dataclass(frozen=True)
class Thresholds:
    """One rooftop's lines for each trigger; bad values are refused when the store saves them."""

    equity_min_cents: int = 200_000
    lease_within_days: int = 90
    over_pace_percent: int = 10
    payments_left_at_most: int = 6
    warranty_within_days: int = 90
    warranty_within_miles: int = 3_000
    repair_bill_min_cents: int = 150_000

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not _is_int(value) or value < 0:
                raise ValueError(f"{item.name} must be a whole number of at least 0, got {value!r}")


@dataclass(frozen=True)
class Trigger:
    kind: TriggerKind
    reason: str  # what the salesperson can say
    weight: int


def trade_triggers(
    facts: OwnedVehicleFacts, *, today: date, thresholds: Thresholds | None = None,
) -> tuple[Trigger, ...]:
    """Every reason this car's owner may be ready to trade, strongest first; odd facts just trigger nothing."""
    if not _is_date(today):
        raise TypeError(f"today must be a date, got {today!r}")  # a caller's bug, not bad data
    limits = thresholds if thresholds is not None else Thresholds()
    found: list[tuple[TriggerKind, str]] = []
    for check in (_equity, _lease_ending, _over_pace, _payments_left, _warranty_ending, _repair_bill, _newer_in_stock):
        reason = check(facts, today, limits)
        if reason is not None:
            found.append(reason)
    order = list(TriggerKind)
    found.sort(key=lambda item: (-WEIGHTS[item[0]], order.index(item[0])))
    return tuple(Trigger(kind, reason, WEIGHTS[kind]) for kind, reason in found)


def opportunity_score(triggers: Iterable[Trigger]) -> int:
    """Sort key for the sales list: the sum of the weights (pass all of a household's cars' triggers)."""
    return sum(trigger.weight for trigger in triggers)


# --------------------------------------------------------------------------- one check per trigger


Found = tuple[TriggerKind, str] | None


def _equity(facts: OwnedVehicleFacts, today: date, limits: Thresholds) -> Found:
    equity = facts.equity_cents
    if not _is_int(equity) or equity < max(limits.equity_min_cents, 1):
        return None
    on = f"the {facts.name}" if facts.name else "their car"
    return TriggerKind.EQUITY, f"Worth {dollars(equity)} more than owed on {on}"


def _lease_ending(facts: OwnedVehicleFacts, today: date, limits: Thresholds) -> Found:
    maturity = facts.lease_maturity_on
    if not _is_date(maturity):
        return None
    days = (maturity - today).days
    when = day_month(maturity, today=today)
    # A lease that ended lately and is still on file is being extended month to month: still worth a call.
    if abs(days) > limits.lease_within_days:
        return None
    if days == 0:
        return TriggerKind.LEASE_ENDING, f"Lease ends today ({when})"
    if days > 0:
        return TriggerKind.LEASE_ENDING, f"Lease ends in {count(days, 'day')} ({when})"
    return TriggerKind.LEASE_ENDING, f"Lease ended {count(-days, 'day')} ago ({when})"


def _over_pace(facts: OwnedVehicleFacts, today: date, limits: Thresholds) -> Found:
    start, allowed, miles = facts.lease_start_on, facts.lease_miles_per_year, facts.estimated_mileage
    start_miles = 0 if facts.lease_start_mileage is None else facts.lease_start_mileage
    if not (_is_date(start) and _is_int(allowed) and _is_int(miles) and _is_int(start_miles)) or allowed <= 0:
        return None
    if _is_date(facts.lease_maturity_on) and facts.lease_maturity_on <= today:
        return None  # over or not, it is over: the lease-ending trigger speaks for it
    days, driven = (today - start).days, miles - start_miles
    if days < MIN_PACE_DAYS or driven < 0:
        return None
    # Compared exactly, in whole numbers; only the figure staff read is rounded to the hundred.
    if driven * 365 * 100 <= allowed * days * (100 + limits.over_pace_percent):
        return None
    pace = round(driven * 365 / days / 100) * 100
    return TriggerKind.OVER_PACE, f"On pace for {pace:,} miles a year against {allowed:,} allowed"


def _payments_left(facts: OwnedVehicleFacts, today: date, limits: Thresholds) -> Found:
    left = facts.payments_left
    # Loans only: a lease's last payments are its ending, which has its own trigger.
    if facts.lease_maturity_on is not None or not _is_int(left) or not 0 < left <= limits.payments_left_at_most:
        return None
    return TriggerKind.PAYMENTS_LEFT, f"{count(left, 'payment')} left"


def _warranty_ending(facts: OwnedVehicleFacts, today: date, limits: Thresholds) -> Found:
    terms = facts.warranty if isinstance(facts.warranty, WarrantyTerms) else warranty_terms(facts.make)
    if _is_date(facts.in_service_on):
        start = facts.in_service_on
    elif _is_int(facts.year) and 1900 < facts.year <= today.year + 1:
        start = in_service_estimate(facts.year)
    else:
        return None
    days = (add_months(start, 12 * terms.years) - today).days
    miles = facts.estimated_mileage
    miles_left = terms.miles - miles if _is_int(miles) and miles >= 0 else None
    if days < 0 or (miles_left is not None and miles_left < 0):
        return None  # already over: nothing ending
    by_time = days <= limits.warranty_within_days
    by_miles = miles_left is not None and miles_left <= limits.warranty_within_miles
    if not (by_time or by_miles):
        return None
    in_miles = f"{round(miles_left / 100) * 100:,} miles" if miles_left is not None else ""
    if by_time and by_miles:
        return TriggerKind.WARRANTY_ENDING, f"Factory warranty ends {_in_about(days)} or {in_miles}, whichever comes first"
    if by_time:
        return TriggerKind.WARRANTY_ENDING, f"Factory warranty ends {_in_about(days)}"
    return TriggerKind.WARRANTY_ENDING, f"Factory warranty ends in about {in_miles}"


def _repair_bill(facts: OwnedVehicleFacts, today: date, limits: Thresholds) -> Found:
    bill, equity = facts.open_ro_total_cents, facts.equity_cents
    # Without equity a big bill is a reason to fix the car, not to trade it.
    if not (_is_int(bill) and _is_int(equity)) or equity <= 0 or bill < max(limits.repair_bill_min_cents, 1):
        return None
    return TriggerKind.REPAIR_BILL, f"A {dollars(bill)} repair bill on a car with equity"


def _newer_in_stock(facts: OwnedVehicleFacts, today: date, limits: Thresholds) -> Found:
    newer, year = facts.newer_model_year_in_stock, facts.year
    if not (_is_int(newer) and _is_int(year)) or newer <= year:
        return None
    model = facts.model.strip() or facts.make.strip() or "model"
    return TriggerKind.NEWER_IN_STOCK, f"The {newer} {model} is in stock"


def _in_about(days: int) -> str:
    if days == 0:
        return "today"
    if days < 14:
        return f"in {count(days, 'day')}"
    if days < 60:
        return f"in about {count(round(days / 7), 'week')}"
    return f"in about {count(round(days / 30.44), 'month')}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)
