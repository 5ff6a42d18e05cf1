"""Fitting weights to outcomes and measuring rankings: pure, on shoppers made up here."""

import random
from datetime import datetime, timedelta, timezone

import pytest

from alerts.outcomes import NotEnoughOutcomes, OutcomeRow, fit_event_weights, ranking, score_at
from alerts.scoring import EventFact, ScoringRules

REF = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("scores, sold, auc, lift", [
    pytest.param([9, 8, 7, 6, 5, 4, 3, 2, 1, 0], [1, 1, 0, 0, 0, 0, 0, 0, 0, 0], 1.0, 5.0,
                 id="buyers on top rank perfectly"),
    pytest.param([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 0, 0, 0, 0, 0, 0, 0, 0], 0.0, 0.0,
                 id="buyers at the bottom rank as badly as possible"),
    pytest.param([1] * 10, [1, 1, 0, 0, 0, 0, 0, 0, 0, 0], 0.5, 1.0,
                 id="one score for everybody is a coin toss and no lift"),
])
def test_ranking_gives_auc_and_top_decile_lift(scores, sold, auc, lift):
    result = ranking(scores, [bool(s) for s in sold])
    assert (result.auc, result.top_decile_lift, result.base_rate) == (auc, lift, 0.2)


def shopper(rng, sold: bool) -> OutcomeRow:
    """Buyers in this made-up store finish the trade-in calculator; everyone browses about the same."""
    events = [EventFact("asc_pageview", REF - timedelta(hours=rng.uniform(1, 200))) for _ in range(rng.randint(1, 12))]
    events += [EventFact("asc_item_pageview", REF - timedelta(hours=rng.uniform(1, 200)), vin=f"VIN{rng.randint(1, 50)}")
               for _ in range(rng.randint(0, 3))]
    if sold and rng.random() < 0.8 or not sold and rng.random() < 0.05:
        events.append(EventFact("trade_in_calculator_completed", REF - timedelta(hours=rng.uniform(1, 100))))
    # Noise the hand-set rules like: chats, equally common among buyers and non-buyers.
    events += [EventFact("chat_started", REF - timedelta(hours=rng.uniform(1, 50))) for _ in range(rng.randint(0, 4))]
    return OutcomeRow(events=tuple(events), reference=REF, sold=sold)


def test_fitted_weights_rank_this_stores_buyers_better_than_generic_rules():
    rng = random.Random(3)
    rows = [shopper(rng, sold=i % 4 == 0) for i in range(400)]
    result = fit_event_weights(rows, rules=ScoringRules())
    assert (result.shoppers, result.train + result.test) == (400, 400)
    assert result.fitted.auc > result.rules.auc and result.fitted.auc > 0.8
    assert result.fitted.top_decile_lift > 2
    weights = result.event_weights
    assert weights["trade_in_calculator_completed"] > ScoringRules().event_weight("trade_in_calculator_completed")
    assert weights["chat_started"] < ScoringRules().event_weight("chat_started")
    assert all(w >= 0 for w in weights.values())
    ScoringRules(event_weights=weights)  # valid rules a manager can adopt as they are


def test_the_score_at_a_moment_ignores_later_events_and_decays_earlier_ones():
    row = OutcomeRow(events=(EventFact("credit_application_started", REF - timedelta(hours=72)),
                             EventFact("credit_application_started", REF + timedelta(hours=1))),
                     reference=REF, sold=True)
    assert score_at(row, ScoringRules()) == 25.0  # 20 + 30 signal points, halved after one 72 h half-life


@pytest.mark.parametrize("count, buyers, message", [
    (30, 10, "at least 60 shoppers"),
    (100, 5, "at least 10 buyers"),
    (100, 98, "at least 10 buyers and 10 non-buyers"),
])
def test_too_few_outcomes_are_refused_with_the_reason(count, buyers, message):
    rng = random.Random(1)
    rows = [shopper(rng, sold=i < buyers) for i in range(count)]
    with pytest.raises(NotEnoughOutcomes, match=message):
        fit_event_weights(rows, rules=ScoringRules())
