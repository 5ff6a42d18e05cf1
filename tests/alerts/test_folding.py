"""One open alert per shopper: the pure decision of where a fired signal goes (alerts.folding). No database."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts.folding import FOLD, HISTORY, NEW, LastOfKind, OpenAlert, place_signal

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
HIGH, URGENT, MEDIUM = 3, 4, 2


def open_alert(priority=HIGH, score=55.0, snoozed=False):
    return OpenAlert(id=10, priority=priority, score=score, snoozed=snoozed)


def last(ago: timedelta, root_id=7):
    return LastOfKind(root_id=root_id, at=NOW - ago)


@pytest.mark.parametrize(
    "case, rank, score, open_, last_, cooldown, placement, root_id, priority, new_score, rose, wake",
    [
        ("same priority folds in, nothing rises", HIGH, 50.0, open_alert(), None, DAY, FOLD, 10, HIGH, 55.0, False, False),
        ("a higher score rises in place", HIGH, 70.0, open_alert(), None, DAY, FOLD, 10, HIGH, 70.0, False, False),
        ("a higher priority rises in place and re-notifies", URGENT, 80.0, open_alert(), None, DAY, FOLD, 10, URGENT, 80.0, True, False),
        ("a lower priority never lowers the row", MEDIUM, 20.0, open_alert(), None, DAY, FOLD, 10, HIGH, 55.0, False, False),
        ("an open alert wins over any cooldown", HIGH, 50.0, open_alert(), last(timedelta(minutes=1)), DAY, FOLD, 10, HIGH, 55.0, False, False),
        ("an open alert takes signals whose kind has no cooldown", HIGH, 50.0, open_alert(), None, timedelta(0), FOLD, 10, HIGH, 55.0, False, False),
        ("a snoozed alert stays snoozed when nothing rises", HIGH, 50.0, open_alert(snoozed=True), None, DAY, FOLD, 10, HIGH, 55.0, False, False),
        ("a snoozed alert wakes when the priority rises", URGENT, 50.0, open_alert(snoozed=True), None, DAY, FOLD, 10, URGENT, 55.0, True, True),
        ("closed inside the kind's cooldown: history only", URGENT, 90.0, None, last(timedelta(hours=23)), DAY, HISTORY, 7, None, None, False, False),
        ("closed, cooldown just passed: a new alert", HIGH, 50.0, None, last(DAY), DAY, NEW, None, HIGH, 50.0, False, False),
        ("closed long ago: a new alert", HIGH, 50.0, None, last(timedelta(days=3)), DAY, NEW, None, HIGH, 50.0, False, False),
        ("a kind without cooldown always starts anew once closed", HIGH, 50.0, None, last(timedelta(seconds=1)), timedelta(0), NEW, None, HIGH, 50.0, False, False),
        ("nothing before: a new alert", MEDIUM, 12.0, None, None, DAY, NEW, None, MEDIUM, 12.0, False, False),
    ],
)
def test_where_a_signal_goes(case, rank, score, open_, last_, cooldown, placement, root_id, priority, new_score, rose, wake):
    decision = place_signal(rank=rank, score=score, open_alert=open_, last_of_kind=last_, cooldown=cooldown, now=NOW)
    assert (decision.placement, decision.root_id, decision.priority, decision.score, decision.priority_rose,
            decision.wake) == (placement, root_id, priority, new_score, rose, wake), case


@pytest.mark.parametrize("placement, rose, renotify", [(NEW, False, True), (FOLD, True, True), (FOLD, False, False),
                                                       (HISTORY, False, False)])
def test_the_feed_renotifies_only_for_a_new_alert_or_a_rising_priority(placement, rose, renotify):
    open_ = open_alert(priority=HIGH) if placement == FOLD else None
    last_ = last(timedelta(hours=1)) if placement == HISTORY else None
    decision = place_signal(rank=URGENT if rose else HIGH, score=1.0, open_alert=open_, last_of_kind=last_,
                            cooldown=DAY, now=NOW)
    assert (decision.placement, decision.renotify) == (placement, renotify)
