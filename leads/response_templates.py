"""The automated first response: templates a manager edits, filled in for one lead. Pure: `now` is passed in.

A template names the vehicle and the assigned person through placeholders such as `{vehicle}` and
`{salesperson}`. Two sentences depend on the clock, both read on the rooftop's wall clock (its business hours
and closed dates) and both promising the response deadline, which counts only open time:
`{reply_promise}` names the person ("Maria will be in touch within 15 minutes." / "Our showroom is closed
right now; we open Monday at 9:00 AM. Maria will reply by 9:15 AM."), `{reply_by}` does not ("A person will
reply within 15 minutes." / "We open Monday at 9:00 AM, and a person will reply by 9:15 AM.").
First-response emails go out at any hour (quiet hours hold texts only), so these sentences are what tells a
customer writing at 3 a.m. when to expect a person.

Only bare placeholder names are allowed: `str.format` would otherwise let a template reach attributes
(`{vehicle.__class__}`), and a typo would fail at 11 pm for a real customer instead of when the manager saves.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

PLACEHOLDERS: dict[str, str] = {
    "customer_first_name": "The customer's first name (or \"there\")",
    "vehicle": "The vehicle they asked about",
    "salesperson": "The assigned salesperson (or \"our team\")",
    "rooftop": "The store's name",
    "rooftop_phone": "The store's phone number",
    "reply_promise": "When the salesperson will reply: within the response time, or by the deadline after opening",
    "reply_by": "When a person will reply, without naming them: within the response time, or when the store opens",
}

SMS_MAX_TEMPLATE_CHARS = 600  # four SMS segments; longer texts are split and cost more
EMAIL_MAX_BODY_CHARS = 5000

DEFAULT_EMAIL_SUBJECT = "Your inquiry about the {vehicle} at {rooftop}"
DEFAULT_EMAIL_BODY = (
    "Hi {customer_first_name},\n\n"
    "Thank you for your interest in the {vehicle}. {reply_promise}\n\n"
    "If you would like to talk sooner, call us at {rooftop_phone}.\n\n"
    "{rooftop}"
)
DEFAULT_SMS_BODY = (
    "Hi {customer_first_name}, thanks for asking about the {vehicle} at {rooftop}. {reply_promise} "
    "Reply STOP to opt out."
)


@dataclass(frozen=True)
class ResponseContext:
    """What a first response may mention, loaded for one lead."""

    customer_first_name: str
    vehicle: str
    salesperson: str
    rooftop: str
    rooftop_phone: str
    response_minutes: int
    store_open: bool
    next_open_at: datetime | None  # UTC; None while open
    time_zone: str
    now: datetime
    # The response deadline (UTC), counted in open time; None for contexts built without one (a plain promise).
    reply_due_at: datetime | None = None


def template_errors(text: str, *, channel: str, field: str = "body") -> list[str]:
    """Return what is wrong with a template, in words a manager can act on; empty when it is fine."""
    errors: list[str] = []
    if field == "body" and not text.strip():
        errors.append("The message cannot be empty.")
    limit = SMS_MAX_TEMPLATE_CHARS if channel == "sms" else EMAIL_MAX_BODY_CHARS
    if len(text) > limit:
        errors.append(f"Keep it under {limit} characters (it has {len(text)}).")
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        return errors + [f"Braces must come in pairs around a placeholder such as {{vehicle}} ({exc})."]
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            allowed = ", ".join("{" + key + "}" for key in PLACEHOLDERS)
            errors.append(f"Unknown placeholder {{{name}}}: use one of {allowed}.")
        elif spec or conversion:
            errors.append(f"Write {{{name}}} without a format or conversion.")
    return errors


def _clock_time(moment: datetime) -> str:
    """9:00 AM, without a leading zero."""
    return moment.strftime("%I:%M %p").lstrip("0")


def when_phrase(moment: datetime, *, now: datetime, time_zone: str) -> str:
    """Say an instant on the rooftop's wall clock relative to now: 'today at 9:00 AM', 'Monday at 9:00 AM'."""
    zone = ZoneInfo(time_zone)
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    days = (local.date() - today).days
    if days == 0:
        day = "today"
    elif days == 1:
        day = "tomorrow"
    elif 1 < days < 7:
        day = local.strftime("%A")
    else:
        day = f"on {local.strftime('%B')} {local.day}"
    return f"{day} at {_clock_time(local)}"


def _within(context: ResponseContext) -> str:
    if context.response_minutes <= 0:
        return "right away"
    return "within 1 minute" if context.response_minutes == 1 else f"within {context.response_minutes} minutes"


def _due_phrase(context: ResponseContext, due: datetime, after: datetime | None) -> str:
    """'9:15 AM' when the deadline falls on the same local day as `after` (the opening), else 'Monday at 9:15 AM'."""
    zone = ZoneInfo(context.time_zone)
    if after is not None and due.astimezone(zone).date() == after.astimezone(zone).date():
        return _clock_time(due.astimezone(zone))
    return when_phrase(due, now=context.now, time_zone=context.time_zone)


def _fits_in_open_time(context: ResponseContext) -> bool:
    """Open now, and the whole response window fits before closing (or no deadline was given)."""
    if not context.store_open:
        return False
    if context.reply_due_at is None:
        return True
    return context.reply_due_at - context.now <= timedelta(minutes=max(context.response_minutes, 0))


def reply_promise(context: ResponseContext) -> str:
    """The sentence that says when the assigned person will reply."""
    person = context.salesperson
    # The name may start a sentence; "our team" must read "Our team".
    capitalised = f"{person[:1].upper()}{person[1:]}"
    if _fits_in_open_time(context):
        return f"{person} will be in touch {_within(context)}."
    due = context.reply_due_at
    if context.store_open or context.next_open_at is None:
        # Open, but closing before the window ends: the deadline carries over to the next opening.
        assert due is not None
        return f"{person} will reply by {when_phrase(due, now=context.now, time_zone=context.time_zone)}."
    opens = when_phrase(context.next_open_at, now=context.now, time_zone=context.time_zone)
    if due is None:
        return f"Our showroom is closed right now. {capitalised} will reply {opens}."
    if due <= context.next_open_at:
        return f"Our showroom is closed right now; we open {opens}. {capitalised} will reply as soon as we open."
    return (f"Our showroom is closed right now; we open {opens}. "
            f"{capitalised} will reply by {_due_phrase(context, due, context.next_open_at)}.")


def reply_by(context: ResponseContext) -> str:
    """The sentence that says when a person will reply, computed from the store's hours; names nobody."""
    if _fits_in_open_time(context):
        return f"A person will reply {_within(context)}."
    due = context.reply_due_at
    if context.store_open or context.next_open_at is None:
        assert due is not None
        return f"A person will reply by {when_phrase(due, now=context.now, time_zone=context.time_zone)}."
    opens = when_phrase(context.next_open_at, now=context.now, time_zone=context.time_zone)
    if due is None or due <= context.next_open_at:
        return f"We open {opens}, and a person will reply as soon as we open."
    return f"We open {opens}, and a person will reply by {_due_phrase(context, due, context.next_open_at)}."


def render(template: str, context: ResponseContext) -> str:
    """Fill a template that passed `template_errors` for one lead."""
    values = {
        "customer_first_name": context.customer_first_name or "there",
        "vehicle": context.vehicle or "vehicle you asked about",
        "salesperson": context.salesperson,
        "rooftop": context.rooftop,
        "rooftop_phone": context.rooftop_phone or "the store",
        "reply_promise": reply_promise(context),
        "reply_by": reply_by(context),
    }
    # The promise starts a sentence; the person's name may be "our team", so capitalise after the fact.
    values["reply_promise"] = values["reply_promise"][:1].upper() + values["reply_promise"][1:]
    return template.format_map(values).strip()
