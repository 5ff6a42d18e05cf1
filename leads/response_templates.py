"""The automated first response: templates a manager edits, filled in for one lead. Pure: `now` is passed in.

A template names the vehicle and the assigned person through placeholders such as `{vehicle}` and
`{salesperson}`. `{reply_promise}` is the one sentence that depends on the clock: during business hours it
promises a reply within the source's response time; outside them it says when a person will reply, read on
the rooftop's wall clock ("Our showroom is closed right now. Maria will reply Monday at 9:00 AM.").

Only bare placeholder names are allowed: `str.format` would otherwise let a template reach attributes
(`{vehicle.__class__}`), and a typo would fail at 11 pm for a real customer instead of when the manager saves.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

PLACEHOLDERS: dict[str, str] = {
    "customer_first_name": "The customer's first name (or \"there\")",
    "vehicle": "The vehicle they asked about",
    "salesperson": "The assigned salesperson (or \"our team\")",
    "rooftop": "The store's name",
    "rooftop_phone": "The store's phone number",
    "reply_promise": "When a person will reply: within the response time, or when the store opens",
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


def reply_promise(context: ResponseContext) -> str:
    """The sentence that says when a person will reply."""
    person = context.salesperson
    if context.store_open or context.next_open_at is None:
        if context.response_minutes <= 0:
            return f"{person} will be in touch right away."
        minutes = "1 minute" if context.response_minutes == 1 else f"{context.response_minutes} minutes"
        return f"{person} will be in touch within {minutes}."
    when = when_phrase(context.next_open_at, now=context.now, time_zone=context.time_zone)
    # The name starts a sentence here; "our team" must read "Our team".
    return f"Our showroom is closed right now. {person[:1].upper()}{person[1:]} will reply {when}."


def render(template: str, context: ResponseContext) -> str:
    """Fill a template that passed `template_errors` for one lead."""
    values = {
        "customer_first_name": context.customer_first_name or "there",
        "vehicle": context.vehicle or "vehicle you asked about",
        "salesperson": context.salesperson,
        "rooftop": context.rooftop,
        "rooftop_phone": context.rooftop_phone or "the store",
        "reply_promise": reply_promise(context),
    }
    # The promise starts a sentence; the person's name may be "our team", so capitalise after the fact.
    values["reply_promise"] = values["reply_promise"][:1].upper() + values["reply_promise"][1:]
    return template.format_map(values).strip()
