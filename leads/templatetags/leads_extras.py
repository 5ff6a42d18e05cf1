"""Small filters for lead pages: durations as people say them."""

from __future__ import annotations

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """'45 s', '4 min 12 s', '2 h 5 min', '3 d 4 h'; an em dash when there is nothing to show."""
    if value is None or value == "":
        return "—"
    seconds = int(round(value.total_seconds()))
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = f"{days} d {hours} h" if hours else f"{days} d"
    elif hours:
        text = f"{hours} h {minutes} min" if minutes else f"{hours} h"
    elif minutes:
        text = f"{minutes} min {secs} s" if secs else f"{minutes} min"
    else:
        text = f"{secs} s"
    return sign + text


@register.filter
def until(deadline, now) -> str:
    """Time left before a deadline, or how long it is overdue (what the countdown shows before JS runs)."""
    if deadline is None or now is None:
        return ""
    left = deadline - now
    if left.total_seconds() >= 0:
        return f"{duration(left)} left"
    return f"overdue {duration(-left)}"


@register.filter
def get_item(mapping, key):
    """mapping[key] in a template."""
    return mapping.get(key) if mapping else None
