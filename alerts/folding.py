"""Where a fired signal goes on the feed: one open alert per shopper per rooftop. Pure: values in, a decision out.

A BDC agent makes one call per shopper, so the feed shows one row per shopper. A signal that fires while the
shopper's alert is still open (new, seen or claimed) folds into it: its reason is added, the score and the
priority rise in place, and the row moves up; the signal is kept as a follow-up row for the history. Once
the alert was acted on, dismissed or expired, a new row appears only after the signal kind's cooldown has
passed since that kind last fired for the shopper; inside the cooldown the signal is history only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

FOLD: Literal["fold"] = "fold"
HISTORY: Literal["history"] = "history"
NEW: Literal["new"] = "new"
Placement = Literal["fold", "history", "new"]


@dataclass(frozen=True)
class OpenAlert:
    """The shopper's open root alert as the decision needs it."""

    id: int
    priority: int
    score: float
    snoozed: bool = False


@dataclass(frozen=True)
class LastOfKind:
    """The newest alert row (root or follow-up) of the signal's kind for this shopper, and the root it is under."""

    root_id: int
    at: datetime


@dataclass(frozen=True)
class FoldDecision:
    placement: Placement
    root_id: int | None  # the row the signal goes under; None for a new root
    priority: int | None  # the root's priority afterwards (None: a closed root stays as it was)
    score: float | None  # the root's score afterwards (likewise)
    priority_rose: bool  # the feed re-notifies (sound, browser notification) only when this is true
    wake: bool = False  # a snoozed alert comes back at once when the priority rises

    @property
    def renotify(self) -> bool:
        return self.placement == NEW or self.priority_rose


def place_signal(*, rank: int, score: float, open_alert: OpenAlert | None, last_of_kind: LastOfKind | None,
                 cooldown: timedelta, now: datetime) -> FoldDecision:
    """Fold into the open alert, keep as history under a closed one inside the cooldown, or start a new alert."""
    if open_alert is not None:
        rose = rank > open_alert.priority
        return FoldDecision(
            placement=FOLD, root_id=open_alert.id, priority=max(rank, open_alert.priority),
            score=max(score, open_alert.score), priority_rose=rose, wake=rose and open_alert.snoozed,
        )
    if last_of_kind is not None and cooldown > timedelta(0) and now - last_of_kind.at < cooldown:
        return FoldDecision(placement=HISTORY, root_id=last_of_kind.root_id, priority=None, score=None,
                            priority_rose=False)
    return FoldDecision(placement=NEW, root_id=None, priority=rank, score=score, priority_rose=False)
