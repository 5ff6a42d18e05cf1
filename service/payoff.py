"""What the customer still owes on their car today. Pure: terms and `today` in, a `Payoff` out.

Order of trust:
1. A known payoff (typed in by staff or imported from the DMS or the lender, with its date) wins.
2. A loan is amortized month by month from its terms: amount financed, APR, term, first payment date and the
   monthly payment (worked out from the terms when missing). Payments are assumed made on their due dates,
   and interest since the last one is added by the day, as a lender's payoff quote does.
3. A lease is estimated as the residual plus the payments still to come. A lender's quote is usually a little
   lower (it leaves out the rent charge in those payments) and may add fees, so it is labelled an estimate.

Anything missing or not believable gives `PayoffBasis.UNKNOWN` and says why in `method`; no input raises,
because these come from credit applications and DMS imports that staff cannot always correct.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from typing import Any

from service.wording import count, dollars_and_cents, percent, short_date

# Longest auto loan or lease anyone writes is 96 months; beyond 120 the figure is a typo, not a contract.
MAX_TERM_MONTHS = 120
# Buy-here-pay-here paper tops out around 30% APR; above 40% the APR field holds something else.
MAX_APR = Decimal(40)
_CENT = Decimal(1)


class PayoffBasis(str, Enum):
    KNOWN = "known"  # typed in or imported, with its date
    AMORTIZED = "amortized"  # a loan worked out from its terms
    LEASE = "lease"  # residual plus remaining payments
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class LoanTerms:
    amount_financed_cents: int | None
    apr: Decimal | None  # percent a year: Decimal("4.9") is 4.9% APR
    term_months: int | None
    first_payment_on: date | None
    monthly_payment_cents: int | None = None  # worked out from the other terms when missing


@dataclass(frozen=True)
class LeaseTerms:
    residual_cents: int | None
    maturity_on: date | None
    monthly_payment_cents: int | None
    term_months: int | None = None  # only needed to say how many payments were made


@dataclass(frozen=True)
class KnownPayoff:
    cents: int | None
    on: date | None  # the day the figure was good for
    source: str = "on file"  # "typed in", "imported from the DMS", ...


@dataclass(frozen=True)
class Payoff:
    basis: PayoffBasis
    payoff_cents: int | None
    payments_made: int | None
    payments_left: int | None
    method: str  # how it was worked out, or why it is unknown

    @property
    def is_known(self) -> bool:
        return self.payoff_cents is not None


def payoff_of(
    *,
    today: date,
    loan: LoanTerms | None = None,
    lease: LeaseTerms | None = None,
    known: KnownPayoff | None = None,
) -> Payoff:
    """The payoff today: a dated known figure first, else an estimate from the loan or lease terms."""
    if not isinstance(today, date) or isinstance(today, datetime):
        raise TypeError(f"today must be a date, got {today!r}")  # a caller's bug, not bad data
    ignored = ""
    if known is not None:
        problem = _known_problem(known, today)
        if problem is None:
            assert known.cents is not None and known.on is not None
            return Payoff(PayoffBasis.KNOWN, known.cents, None, None,
                          f"known: {dollars_and_cents(known.cents)} as of {short_date(known.on)} ({known.source})")
        ignored = f" (the payoff on file was not used: {problem})"
    if loan is not None and lease is not None:
        result = _unknown("both a loan and a lease are on file for one car")
    elif loan is not None:
        result = _loan_payoff(loan, today)
    elif lease is not None:
        result = _lease_payoff(lease, today)
    else:
        result = _unknown("no loan or lease terms on file")
    if ignored:
        return Payoff(result.basis, result.payoff_cents, result.payments_made, result.payments_left,
                      result.method + ignored)
    return result


def add_months(day: date, months: int) -> date:
    """The same day `months` later, on the month's last day when it is shorter (Jan 31 + 1 -> Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def monthly_payment_cents(*, amount_financed_cents: int, apr: Decimal, term_months: int) -> int:
    """The level payment that pays the loan off in its term (the standard annuity formula), to the cent."""
    if apr == 0:
        return int((Decimal(amount_financed_cents) / term_months).to_integral_value(ROUND_HALF_UP))
    rate = apr / 1200
    growth = (1 + rate) ** term_months
    payment = Decimal(amount_financed_cents) * rate * growth / (growth - 1)
    return int(payment.to_integral_value(ROUND_HALF_UP))


# --------------------------------------------------------------------------- loans


def _loan_payoff(loan: LoanTerms, today: date) -> Payoff:
    amount, term, first = loan.amount_financed_cents, loan.term_months, loan.first_payment_on
    apr = _decimal(loan.apr)
    missing = [label for label, value in (
        ("amount financed", amount), ("APR", loan.apr), ("term", term), ("first payment date", first),
    ) if value is None]
    if missing:
        return _unknown(f"no {_join(missing)} on file")
    if not _is_int(amount) or amount <= 0:
        return _unknown(f"an amount financed of {_money_or_repr(amount)} is not a loan")
    if apr is None or not 0 <= apr <= MAX_APR:
        return _unknown(f"an APR of {loan.apr!r} is not believable (expected 0% to {MAX_APR}%)")
    if not _is_int(term) or not 0 < term <= MAX_TERM_MONTHS:
        return _unknown(f"a term of {term!r} months is not believable (expected 1 to {MAX_TERM_MONTHS})")
    if not _is_date(first):
        return _unknown(f"the first payment date {first!r} is not a date")
    assert amount is not None and term is not None and first is not None  # narrowed above, for mypy

    derived = loan.monthly_payment_cents is None
    payment = (monthly_payment_cents(amount_financed_cents=amount, apr=apr, term_months=term)
               if derived else loan.monthly_payment_cents)
    if not _is_int(payment) or payment <= 0:
        return _unknown(f"a monthly payment of {_money_or_repr(payment)} is not believable")
    assert payment is not None

    rate = apr / 1200
    first_interest = _cents(Decimal(amount) * rate)
    if payment <= first_interest:
        return _unknown(f"a payment of {dollars_and_cents(payment)} does not cover the "
                        f"{dollars_and_cents(first_interest)} monthly interest; check the payment, APR and amount")

    made = _payments_due_by(first, term, today)
    left = term - made
    terms = f"{count(term, 'payment')} of {dollars_and_cents(payment)} at {percent(apr)} APR"
    how_paid = " (payment worked out from the loan terms)" if derived else ""
    if made == 0:
        return Payoff(PayoffBasis.AMORTIZED, amount, 0, term,
                      f"not started: first of {terms} due {short_date(first)}; payoff is the amount financed{how_paid}")
    if left == 0:
        # The last payment of a real loan is trued up to close it, so a finished schedule owes nothing.
        return Payoff(PayoffBasis.AMORTIZED, 0, made, 0, f"paid off: all {terms} made{how_paid}")

    balance = amount
    for number in range(1, made + 1):
        balance = balance + _cents(Decimal(balance) * rate) - payment
        if balance <= 0:
            # A payment larger than the schedule needs pays the loan off early: nothing is due after it.
            return Payoff(PayoffBasis.AMORTIZED, 0, number, 0,
                          f"paid off early: {number} of {terms} made{how_paid}")
    days = (today - add_months(first, made - 1)).days
    accrued = _cents(Decimal(balance) * apr / 100 * days / 365)
    interest = "" if days == 0 else ", plus 1 day's interest" if days == 1 else f", plus {days} days' interest"
    return Payoff(PayoffBasis.AMORTIZED, balance + accrued, made, left,
                  f"amortized: {made} of {terms} made{interest}{how_paid}")


def _payments_due_by(first: date, term: int, today: date) -> int:
    """How many of the term's due dates (first, first + 1 month, ...) fall on or before today."""
    if today < first:
        return 0
    months = (today.year - first.year) * 12 + today.month - first.month
    due = months + 1 if add_months(first, months) <= today else months
    return min(due, term)


# --------------------------------------------------------------------------- leases


def _lease_payoff(lease: LeaseTerms, today: date) -> Payoff:
    residual, maturity, payment = lease.residual_cents, lease.maturity_on, lease.monthly_payment_cents
    missing = [label for label, value in (
        ("residual", residual), ("maturity date", maturity), ("monthly payment", payment),
    ) if value is None]
    if missing:
        return _unknown(f"no lease {_join(missing)} on file")
    if not _is_int(residual) or residual <= 0:
        return _unknown(f"a residual of {_money_or_repr(residual)} is not believable")
    if not _is_int(payment) or payment <= 0:
        return _unknown(f"a monthly payment of {_money_or_repr(payment)} is not believable")
    if not _is_date(maturity):
        return _unknown(f"the maturity date {maturity!r} is not a date")
    term = lease.term_months
    if term is not None and (not _is_int(term) or not 0 < term <= MAX_TERM_MONTHS):
        return _unknown(f"a lease term of {term!r} months is not believable (expected 1 to {MAX_TERM_MONTHS})")
    assert residual is not None and maturity is not None and payment is not None

    if maturity <= today:
        return Payoff(PayoffBasis.LEASE, residual, term, 0,
                      f"lease ended {short_date(maturity)}: payoff is the residual of {dollars_and_cents(residual)}")
    # Lease payments are made in advance, so the last one falls a month before maturity.
    left = 0
    while add_months(maturity, -(left + 1)) > today:
        left += 1
        if left > MAX_TERM_MONTHS:
            return _unknown(f"a maturity date of {short_date(maturity)} is more than {MAX_TERM_MONTHS} months away")
    if term is not None and left > term:
        return _unknown(f"{count(left, 'payment')} to go is more than the {term}-month term")
    made = None if term is None else term - left
    return Payoff(PayoffBasis.LEASE, residual + left * payment, made, left,
                  f"lease estimate: residual of {dollars_and_cents(residual)} plus {count(left, 'payment')} of "
                  f"{dollars_and_cents(payment)} left to {short_date(maturity)} "
                  "(a lender's quote is usually a little lower: it leaves out the rent charge)")


# --------------------------------------------------------------------------- helpers


def _known_problem(known: KnownPayoff, today: date) -> str | None:
    """Why a payoff on file cannot be used, or None when it can."""
    if known.cents is None:
        return "no amount"
    if not _is_int(known.cents) or known.cents < 0:
        return f"{_money_or_repr(known.cents)} is not a payoff"
    if not _is_date(known.on):
        return "it has no date"
    assert known.on is not None
    if known.on > today:
        return f"dated {short_date(known.on)}, after today"
    return None


def _unknown(reason: str) -> Payoff:
    return Payoff(PayoffBasis.UNKNOWN, None, None, None, f"unknown: {reason}")


def _cents(value: Decimal) -> int:
    return int(value.to_integral_value(ROUND_HALF_UP))


def _decimal(value: Any) -> Decimal | None:
    """An APR as a finite Decimal, from a Decimal, an int or a numeric string; None when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        # str() first: Decimal(4.9) would carry the float's binary noise into the money.
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _money_or_repr(value: Any) -> str:
    return dollars_and_cents(value) if _is_int(value) else repr(value)


def _join(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]
