"""How the service-to-sales decisions say money, counts and dates to staff. Pure.

One place so "$6,200" and "4 payments left" read the same in every reason and method string.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal


def dollars(cents: int) -> str:
    """Whole dollars for reasons a salesperson reads aloud: 620_049 -> "$6,200", -5_000 -> "-$50"."""
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}"


def dollars_and_cents(cents: int) -> str:
    """Exact money for how a figure was worked out: 41_250 -> "$412.50"."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{part:02d}"


def percent(value: Decimal) -> str:
    """Decimal("4.90") -> "4.9%", Decimal("0.00") -> "0%"."""
    return f"{value.normalize():f}%"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """count(1, "payment") -> "1 payment", count(4, "payment") -> "4 payments"."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def day_month(day: date, *, today: date | None = None) -> str:
    """"March 3", with the year only when it is not this year's (or when there is no today to compare)."""
    text = f"{day:%B} {day.day}"
    return text if today is not None and day.year == today.year else f"{text}, {day.year}"


def short_date(day: date) -> str:
    """"Mar 3, 2026": for method strings, where the year always matters."""
    return f"{day:%b} {day.day}, {day.year}"
