"""First-response templates, pure: placeholders, the reply promise in the rooftop's time zone, validation."""

from datetime import datetime, timezone

import pytest

from leads.response_templates import (
    DEFAULT_EMAIL_BODY, DEFAULT_EMAIL_SUBJECT, DEFAULT_SMS_BODY, ResponseContext, render, reply_promise,
    template_errors, when_phrase,
)
from leads.routing import BusinessHours, next_open

NY = "America/New_York"
UTC = timezone.utc
SHOWROOM = BusinessHours.from_dict({d: [["09:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")})


def _context(now: datetime, **changes) -> ResponseContext:
    open_now = changes.pop("store_open", None)
    from leads.routing import is_open

    store_open = is_open(SHOWROOM, NY, now) if open_now is None else open_now
    values = dict(customer_first_name="Pat", vehicle="2025 Toyota RAV4 XLE", salesperson="Maria Alvarez",
                  rooftop="Lakeside Toyota", rooftop_phone="+16175550100", response_minutes=15,
                  store_open=store_open, next_open_at=None if store_open else next_open(SHOWROOM, NY, now),
                  time_zone=NY, now=now)
    values.update(changes)
    return ResponseContext(**values)


@pytest.mark.parametrize(("now", "expected"), [
    # Tuesday 10:00: open.
    (datetime(2026, 11, 24, 15, 0, tzinfo=UTC), "Maria Alvarez will be in touch within 15 minutes."),
    # Tuesday 20:30: closed, opens tomorrow.
    (datetime(2026, 11, 25, 1, 30, tzinfo=UTC),
     "Our showroom is closed right now. Maria Alvarez will reply tomorrow at 9:00 AM."),
    # Tuesday 07:00: opens later today.
    (datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
     "Our showroom is closed right now. Maria Alvarez will reply today at 9:00 AM."),
    # Saturday 20:30: closed on Sunday, so Monday.
    (datetime(2026, 11, 29, 1, 30, tzinfo=UTC),
     "Our showroom is closed right now. Maria Alvarez will reply Monday at 9:00 AM."),
    # Saturday night before the fall-back change: Monday 09:00 is still 09:00 on the wall clock.
    (datetime(2026, 11, 1, 2, 0, tzinfo=UTC),
     "Our showroom is closed right now. Maria Alvarez will reply Monday at 9:00 AM."),
    # Saturday night before spring-forward.
    (datetime(2026, 3, 8, 3, 0, tzinfo=UTC),
     "Our showroom is closed right now. Maria Alvarez will reply Monday at 9:00 AM."),
])
def test_the_reply_promise_reads_the_rooftops_wall_clock(now: datetime, expected: str) -> None:
    assert reply_promise(_context(now)) == expected


def test_a_long_closure_names_the_date() -> None:
    hours = BusinessHours.from_dict({"mon": [["09:00", "17:00"]], "closed_dates": ["2026-11-30", "2026-12-07"]})
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert when_phrase(next_open(hours, NY, now), now=now, time_zone=NY) == "on December 14 at 9:00 AM"


def test_a_zero_minute_rule_promises_a_reply_right_away_and_the_pool_speaks_for_the_team() -> None:
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert reply_promise(_context(now, response_minutes=0)) == "Maria Alvarez will be in touch right away."
    rendered = render("{reply_promise}", _context(now, salesperson="our team"))
    assert rendered == "Our team will be in touch within 15 minutes."
    closed = render("{reply_promise}", _context(datetime(2026, 11, 25, 1, 30, tzinfo=UTC), salesperson="our team"))
    assert closed == "Our showroom is closed right now. Our team will reply tomorrow at 9:00 AM."


def test_the_defaults_name_the_vehicle_and_the_salesperson() -> None:
    context = _context(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    for template in (DEFAULT_EMAIL_SUBJECT, DEFAULT_EMAIL_BODY, DEFAULT_SMS_BODY):
        assert template_errors(template, channel="email") == []
        assert "2025 Toyota RAV4 XLE" in render(template, context)
    assert "Maria Alvarez" in render(DEFAULT_SMS_BODY, context)
    assert render(DEFAULT_SMS_BODY, context).endswith("Reply STOP to opt out.")


def test_missing_names_read_naturally() -> None:
    context = _context(datetime(2026, 11, 24, 15, 0, tzinfo=UTC), customer_first_name="", vehicle="")
    assert render("Hi {customer_first_name}, about the {vehicle}", context) == "Hi there, about the vehicle you asked about"


@pytest.mark.parametrize(("text", "message"), [
    ("", "cannot be empty"),
    ("Hi {first_name}", "Unknown placeholder {first_name}"),
    ("Hi {vehicle.__class__}", "Unknown placeholder {vehicle.__class__}"),
    ("Hi {vehicle!r}", "without a format or conversion"),
    ("Hi {vehicle:>20}", "without a format or conversion"),
    ("Hi {vehicle", "Braces must come in pairs"),
    ("x" * 601, "under 600 characters"),
])
def test_a_bad_sms_template_is_explained(text: str, message: str) -> None:
    errors = template_errors(text, channel="sms")
    assert any(message in error for error in errors), errors


def test_literal_braces_are_allowed_when_doubled() -> None:
    assert template_errors("Use code {{SPRING}} at {rooftop}", channel="sms") == []


# --------------------------------------------------------------------------- {reply_by}: the deadline, after hours too

from leads.response_templates import reply_by  # noqa: E402
from leads.routing import RoutingRule, response_window  # noqa: E402

# SHOWROOM (Monday to Saturday 09-20, closed Sundays) plus a closed Christmas.
WITH_CHRISTMAS = BusinessHours.from_dict(SHOWROOM.to_dict() | {"closed_dates": ["2026-12-25"]})


def _clocked(now: datetime, minutes: int = 15, hours: BusinessHours = WITH_CHRISTMAS, **changes) -> ResponseContext:
    """A context as leads.services builds it: open or not, the opening and the deadline from the same window."""
    window = response_window(now, RoutingRule(mode="round_robin", response_minutes=minutes, warn_before_minutes=0),
                             hours, NY)
    return _context(now, response_minutes=minutes, store_open=window.opens_at is None, next_open_at=window.opens_at,
                    reply_due_at=window.deadline_at, **changes)


@pytest.mark.parametrize(("now", "minutes", "by", "promise"), [
    # Tuesday 03:09: the first response goes now and says when a person will answer.
    (datetime(2026, 11, 24, 8, 9, tzinfo=UTC), 15,
     "We open today at 9:00 AM, and a person will reply by 9:15 AM.",
     "Our showroom is closed right now; we open today at 9:00 AM. Maria Alvarez will reply by 9:15 AM."),
    # Tuesday 10:00: open.
    (datetime(2026, 11, 24, 15, 0, tzinfo=UTC), 15,
     "A person will reply within 15 minutes.", "Maria Alvarez will be in touch within 15 minutes."),
    (datetime(2026, 11, 24, 15, 0, tzinfo=UTC), 1,
     "A person will reply within 1 minute.", "Maria Alvarez will be in touch within 1 minute."),
    (datetime(2026, 11, 24, 15, 0, tzinfo=UTC), 0,
     "A person will reply right away.", "Maria Alvarez will be in touch right away."),
    # Tuesday 19:55: open, but the window runs past closing, so "within 15 minutes" would be a false promise.
    (datetime(2026, 11, 25, 0, 55, tzinfo=UTC), 15,
     "A person will reply by tomorrow at 9:10 AM.", "Maria Alvarez will reply by tomorrow at 9:10 AM."),
    # Tuesday 23:00 with a 0-minute rule: due the moment the doors open.
    (datetime(2026, 11, 25, 4, 0, tzinfo=UTC), 0,
     "We open tomorrow at 9:00 AM, and a person will reply as soon as we open.",
     "Our showroom is closed right now; we open tomorrow at 9:00 AM. Maria Alvarez will reply as soon as we open."),
    # Spring-forward night (Sunday 03:09 EDT; closed Sundays): Monday 09:00 on the wall clock.
    (datetime(2026, 3, 8, 7, 9, tzinfo=UTC), 15,
     "We open tomorrow at 9:00 AM, and a person will reply by 9:15 AM.",
     "Our showroom is closed right now; we open tomorrow at 9:00 AM. Maria Alvarez will reply by 9:15 AM."),
    # Fall-back night, the second 01:30 (EST).
    (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), 15,
     "We open tomorrow at 9:00 AM, and a person will reply by 9:15 AM.",
     "Our showroom is closed right now; we open tomorrow at 9:00 AM. Maria Alvarez will reply by 9:15 AM."),
    # Christmas Eve at 21:00: Christmas is closed all day, so Saturday.
    (datetime(2026, 12, 25, 2, 0, tzinfo=UTC), 15,
     "We open Saturday at 9:00 AM, and a person will reply by 9:15 AM.",
     "Our showroom is closed right now; we open Saturday at 9:00 AM. Maria Alvarez will reply by 9:15 AM."),
    # A window longer than the first day's hours ends on a later day, and says so.
    (datetime(2026, 11, 24, 8, 9, tzinfo=UTC), 720,
     "We open today at 9:00 AM, and a person will reply by tomorrow at 10:00 AM.",
     "Our showroom is closed right now; we open today at 9:00 AM. Maria Alvarez will reply by tomorrow at 10:00 AM."),
], ids=["3am", "open", "open-1", "open-0", "closing", "night-0", "spring-forward", "fall-back", "christmas", "long"])
def test_reply_by_and_the_promise_state_the_deadline_on_the_rooftops_clock(
        now: datetime, minutes: int, by: str, promise: str) -> None:
    context = _clocked(now, minutes)
    assert reply_by(context) == by
    assert reply_promise(context) == promise
    assert render("Thanks. {reply_by}", context) == f"Thanks. {by}"


def test_reply_by_is_a_placeholder_managers_may_use_and_names_nobody() -> None:
    assert template_errors("Hi {customer_first_name}. {reply_by}", channel="sms") == []
    context = _clocked(datetime(2026, 11, 24, 8, 9, tzinfo=UTC), salesperson="our team")
    assert "Maria" not in render("{reply_by}", context)
    assert render("{reply_promise}", context) == (
        "Our showroom is closed right now; we open today at 9:00 AM. Our team will reply by 9:15 AM.")
