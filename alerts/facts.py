"""Translate stored collector messages into scoring facts and into a few words for the feed. Pure: no I/O.

track.js (and any Segment client following the ASC vocabulary) sends vehicle details as `item_*` properties
and money as dollars; alerts.scoring wants an EventFact with cents. Only `track` messages are behaviour:
track.js sends an `asc_pageview` track beside every Segment `page` message, so scoring `page` too would count
each page view twice; `identify`, `alias` and `group` say who someone is, not what they did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alerts.scoring import (
    CHAT, CREDIT_APP, CTA, FORM_ENGAGEMENT, FORM_SUBMISSION, PAGEVIEW, PAYMENT_CALC, PRICE_ALERT_CLICKED,
    PRICE_ALERT_SUBSCRIBED, SPECIAL_OFFER, SRP_VIEW, TRADE_CALC, VDP_VIEW, EventFact,
)

MAX_KIND_LENGTH = 80


def _cents(value: Any) -> int | None:
    """Dollars (number or numeric string) to whole cents; anything else is unknown."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.replace(",", "").replace("$", "").strip())
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or value != value or value <= 0 or value > 10_000_000:
        return None
    return int(round(value * 100))


def _text(value: Any, limit: int = 80) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text[:limit] or None


def _year(value: Any) -> int | None:
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return year if 1900 <= year <= 2100 else None


def _whole(value: Any) -> int | None:
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def event_fact(*, type: str, event: str, occurred_at: datetime, vin: str, properties: Mapping[str, Any]) -> EventFact | None:
    """One stored message as a scoring fact, or None when it is not shopper behaviour."""
    if type != "track" or not event or not event.strip():
        return None
    props = properties if isinstance(properties, Mapping) else {}
    kind = event.strip()[:MAX_KIND_LENGTH]
    extra: dict[str, Any] = {}
    if props.get("form_id") not in (None, ""):
        extra["form_id"] = _text(props.get("form_id"), 100)
    if kind == TRADE_CALC:
        extra.update({
            "trade_year": _year(props.get("trade_year")),
            "trade_make": _text(props.get("trade_make")),
            "trade_model": _text(props.get("trade_model")),
        })
        value = props.get("trade_value_cents")
        extra["trade_value_cents"] = value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
            else _cents(props.get("estimated_value"))
    elif kind == PAYMENT_CALC:
        extra["monthly_payment_cents"] = _cents(props.get("monthly_payment"))
        extra["term_months"] = _whole(props.get("term_months"))
    return EventFact(
        kind=kind,
        occurred_at=occurred_at,
        vin=(vin or _text(props.get("item_id"), 17) or None),
        stock_number=_text(props.get("item_number"), 20),
        year=_year(props.get("item_year")),
        make=_text(props.get("item_make")),
        model=_text(props.get("item_model")),
        trim=_text(props.get("item_variant")),
        price_cents=_cents(props.get("item_price")),
        form_type=_text(props.get("form_type"), 40),
        properties={k: v for k, v in extra.items() if v is not None},
    )


# --- the customer's recent activity, condensed for an alert row ------------------------------------

_VERBS = {
    VDP_VIEW: "Viewed", SRP_VIEW: "Searched inventory", PAGEVIEW: "Browsed", CTA: "Clicked",
    FORM_ENGAGEMENT: "Started a form", FORM_SUBMISSION: "Submitted a form", SPECIAL_OFFER: "Looked at a special",
    TRADE_CALC: "Valued a trade-in", PAYMENT_CALC: "Used the payment calculator",
    PRICE_ALERT_SUBSCRIBED: "Asked for price-drop alerts", PRICE_ALERT_CLICKED: "Clicked a price-drop alert",
    CREDIT_APP: "Started a credit application", CHAT: "Started a chat",
}


@dataclass(frozen=True)
class ActivityLine:
    text: str
    count: int
    last_at: datetime


def _describe(event: str, properties: Mapping[str, Any]) -> str:
    verb = _VERBS.get(event, event.replace("_", " ").capitalize())
    vehicle = " ".join(p for p in (
        str(_year(properties.get("item_year")) or ""), _text(properties.get("item_make")) or "",
        _text(properties.get("item_model")) or "", _text(properties.get("item_variant")) or "",
    ) if p)
    stock = _text(properties.get("item_number"), 20)
    if event in (FORM_ENGAGEMENT, FORM_SUBMISSION) and _text(properties.get("form_type")):
        verb = f"{verb}: {str(properties['form_type']).replace('_', ' ')}"
    if event == CTA and _text(properties.get("element_text")):
        verb = f"{verb} “{_text(properties.get('element_text'), 40)}”"
    if vehicle:
        return f"{verb} {vehicle}" + (f" ({stock})" if stock else "")
    return verb


def condense_activity(events: Iterable[tuple[str, str, datetime, Mapping[str, Any]]], *, limit: int = 5) -> list[ActivityLine]:
    """Newest-first (type, event, occurred_at, properties) rows → a few lines, repeats folded ("Viewed … ×3")."""
    lines: list[ActivityLine] = []
    for type_, event, occurred_at, properties in events:
        if type_ != "track" or not event or event == PAGEVIEW:
            continue
        text = _describe(event, properties if isinstance(properties, Mapping) else {})
        if lines and lines[-1].text == text:
            last = lines[-1]
            lines[-1] = ActivityLine(text=text, count=last.count + 1, last_at=last.last_at)
            continue
        if len(lines) == limit:
            break
        lines.append(ActivityLine(text=text, count=1, last_at=occurred_at))
    return lines
