"""Is the customer's car worth more than they owe? Pure: cents in, a decision out.

Equity = trade value - loan payoff. A customer with positive equity can trade into a newer vehicle at a
similar payment, which is why the service lane flags them for sales.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class EquityPosition(str, Enum):
    UNKNOWN = "unknown"  # no trade value or no payoff on file
    POSITIVE = "positive"  # worth more than they owe
    EVEN = "even"
    NEGATIVE = "negative"  # upside down: owes more than it is worth


@dataclass(frozen=True)
class Equity:
    position: EquityPosition
    equity_cents: int | None

    @property
    def is_positive(self) -> bool:
        return self.position is EquityPosition.POSITIVE

    @property
    def label(self) -> str:
        if self.equity_cents is None:
            return "Equity unknown"
        dollars = f"${abs(self.equity_cents) // 100:,}"
        if self.position is EquityPosition.POSITIVE:
            return f"Worth {dollars} more than they owe"
        if self.position is EquityPosition.NEGATIVE:
            return f"Owes {dollars} more than it is worth"
        return "Owes what it is worth"


def equity_of(*, trade_value_cents: int | None, payoff_cents: int | None) -> Equity:
    """A payoff of 0 means owned outright; None means we do not know the loan."""
    if trade_value_cents is None or payoff_cents is None or trade_value_cents < 0 or payoff_cents < 0:
        return Equity(EquityPosition.UNKNOWN, None)
    equity = trade_value_cents - payoff_cents
    if equity > 0:
        return Equity(EquityPosition.POSITIVE, equity)
    if equity < 0:
        return Equity(EquityPosition.NEGATIVE, equity)
    return Equity(EquityPosition.EVEN, 0)


def best_equity(values: list[tuple[int | None, int | None]]) -> Equity:
    """The best position over a household's vehicles: one car with equity is enough for the flag."""
    known = [equity_of(trade_value_cents=t, payoff_cents=p) for t, p in values]
    known = [e for e in known if e.equity_cents is not None]
    if not known:
        return Equity(EquityPosition.UNKNOWN, None)
    return max(known, key=lambda e: e.equity_cents or 0)
