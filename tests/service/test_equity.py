"""Equity: is the car worth more than they owe? A table, no database."""

import pytest

from service.equity import EquityPosition, best_equity, equity_of


@pytest.mark.parametrize("trade, payoff, position, equity, label", [
    (2_000_000, 1_200_000, EquityPosition.POSITIVE, 800_000, "Worth $8,000 more than they owe"),
    (1_500_000, 0, EquityPosition.POSITIVE, 1_500_000, "Worth $15,000 more than they owe"),  # owned outright
    (1_000_000, 1_000_000, EquityPosition.EVEN, 0, "Owes what it is worth"),
    (1_000_000, 1_350_050, EquityPosition.NEGATIVE, -350_050, "Owes $3,500 more than it is worth"),
    (1, 0, EquityPosition.POSITIVE, 1, "Worth $0 more than they owe"),
    (None, 500_000, EquityPosition.UNKNOWN, None, "Equity unknown"),
    (2_000_000, None, EquityPosition.UNKNOWN, None, "Equity unknown"),
    (-5, 0, EquityPosition.UNKNOWN, None, "Equity unknown"),  # bad data is not equity
])
def test_equity_table(trade, payoff, position, equity, label):
    result = equity_of(trade_value_cents=trade, payoff_cents=payoff)
    assert (result.position, result.equity_cents, result.label) == (position, equity, label)
    assert result.is_positive == (position is EquityPosition.POSITIVE)


@pytest.mark.parametrize("values, position", [
    ([], EquityPosition.UNKNOWN),
    ([(None, None), (1_000_000, 1_200_000)], EquityPosition.NEGATIVE),
    ([(1_000_000, 1_200_000), (900_000, 100_000)], EquityPosition.POSITIVE),  # one car with equity is enough
])
def test_the_best_vehicle_decides_the_flag(values, position):
    assert best_equity(values).position is position
