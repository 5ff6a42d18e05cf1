"""Fit a rooftop's event weights to its own outcomes, and measure how well each scoring ranks shoppers.

No database: rows of (events before a reference moment, sold within the outcome window or not) come in,
numbers come out. A logistic regression on per-kind event counts proposes non-negative weights on the same
scale as the hand-set ones; both weight sets are then run through the real scorer (alerts.scoring) on
shoppers held back from the fit, so the comparison is the one the feed would actually see.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from alerts.scoring import EVENT_KINDS, EventFact, ScoringRules, ShopperState, apply_event, current_score

MIN_SHOPPERS = 60
MIN_EACH_CLASS = 10  # sold and not sold, before the split


class NotEnoughOutcomes(ValueError):
    """Too few shoppers with a known outcome to fit and test honestly; the message says what is missing."""


@dataclass(frozen=True)
class OutcomeRow:
    events: tuple[EventFact, ...]  # the shopper's website events before `reference`, any order
    reference: datetime  # when the score is read (e.g. the lead arrived)
    sold: bool  # bought within the outcome window after `reference`


@dataclass(frozen=True)
class Ranking:
    auc: float  # chance a random buyer scores above a random non-buyer (0.5 = no better than a coin)
    top_decile_lift: float  # buy rate among the top 10% by score ÷ the overall buy rate
    top_decile_rate: float
    base_rate: float


@dataclass(frozen=True)
class FitResult:
    shoppers: int
    train: int
    test: int
    sold_test: int
    rules: Ranking
    fitted: Ranking
    event_weights: dict[str, float]  # proposed weights, scaled to the hand-set ones

    def to_dict(self) -> dict:
        return {
            "shoppers": self.shoppers, "train": self.train, "test": self.test, "sold_test": self.sold_test,
            "rules": vars(self.rules), "fitted": vars(self.fitted), "event_weights": dict(self.event_weights),
        }


def ranking(scores: Sequence[float], sold: Sequence[bool]) -> Ranking:
    """AUC and top-decile lift of one scoring on labelled shoppers."""
    from sklearn.metrics import roc_auc_score

    if len(scores) != len(sold) or not scores:
        raise ValueError("scores and outcomes must be non-empty and the same length")
    labels = [1 if s else 0 for s in sold]
    base = sum(labels) / len(labels)
    if base in (0, 1):
        raise NotEnoughOutcomes("the held-back shoppers must include buyers and non-buyers")
    auc = float(roc_auc_score(labels, list(scores)))
    # Ties (many shoppers share a score) are broken by averaging, not by order of arrival.
    k = max(1, math.ceil(len(scores) / 10))
    ordered = sorted(zip(scores, labels), key=lambda pair: -pair[0])
    cutoff = ordered[k - 1][0]
    above = [label for score, label in ordered if score > cutoff]
    tied = [label for score, label in ordered if score == cutoff]
    expected_buyers = sum(above) + (k - len(above)) * (sum(tied) / len(tied))
    rate = expected_buyers / k
    return Ranking(auc=round(auc, 3), top_decile_lift=round(rate / base, 2), top_decile_rate=round(rate, 3),
                   base_rate=round(base, 3))


def score_at(row: OutcomeRow, rules: ScoringRules) -> float:
    """The score the live scorer would show at `row.reference`, each event folded in as it happened."""
    state = ShopperState.empty()
    for event in sorted(row.events, key=lambda e: e.occurred_at):
        if event.occurred_at <= row.reference:
            state = apply_event(state, event, rules=rules, now=event.occurred_at).state
    return current_score(state, rules=rules, now=row.reference)


def _counts(row: OutcomeRow, kinds: Sequence[str]) -> list[float]:
    index = {kind: i for i, kind in enumerate(kinds)}
    counts = [0.0] * len(kinds)
    for event in row.events:
        if event.kind in index and event.occurred_at <= row.reference:
            counts[index[event.kind]] += 1
    return counts


def fit_event_weights(rows: Sequence[OutcomeRow], *, rules: ScoringRules, test_share: float = 0.3,
                      seed: int = 0) -> FitResult:
    """Propose event weights from outcomes and compare both weightings on held-back shoppers."""
    sold = sum(1 for r in rows if r.sold)
    if len(rows) < MIN_SHOPPERS:
        raise NotEnoughOutcomes(f"need at least {MIN_SHOPPERS} shoppers with website activity and a known "
                                f"outcome; found {len(rows)}")
    if min(sold, len(rows) - sold) < MIN_EACH_CLASS:
        raise NotEnoughOutcomes(f"need at least {MIN_EACH_CLASS} buyers and {MIN_EACH_CLASS} non-buyers; "
                                f"found {sold} and {len(rows) - sold}")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    kinds = list(EVENT_KINDS)
    X = [_counts(r, kinds) for r in rows]
    y = [1 if r.sold else 0 for r in rows]
    train_idx, test_idx = train_test_split(
        list(range(len(rows))), test_size=test_share, random_state=seed, stratify=y)
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
    model.fit([X[i] for i in train_idx], [y[i] for i in train_idx])

    # The live score is linear in event counts, so the coefficients are usable as weights once negatives are
    # dropped (an event cannot lower interest in this scorer) and they are rescaled so an average shopper
    # scores what they scored before: the hot and warm thresholds keep their meaning.
    raw = {kind: max(0.0, float(c)) for kind, c in zip(kinds, model.coef_[0])}
    means = [sum(X[i][j] for i in train_idx) / len(train_idx) for j in range(len(kinds))]
    handset_mass = sum(rules.event_weight(k) * m for k, m in zip(kinds, means))
    fitted_mass = sum(raw[k] * m for k, m in zip(kinds, means))
    if fitted_mass <= 0:
        raise NotEnoughOutcomes("no website event made a sale more likely in this store's data")
    scale = handset_mass / fitted_mass if handset_mass > 0 else 1.0
    weights = {k: round(raw[k] * scale, 1) for k in kinds}

    fitted_rules = replace(rules, event_weights=weights)
    test = [rows[i] for i in test_idx]
    outcome = [r.sold for r in test]
    return FitResult(
        shoppers=len(rows), train=len(train_idx), test=len(test_idx), sold_test=sum(outcome),
        rules=ranking([score_at(r, rules) for r in test], outcome),
        fitted=ranking([score_at(r, fitted_rules) for r in test], outcome),
        event_weights=weights,
    )
