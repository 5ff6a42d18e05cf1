"""Website activity condensed into visits for the customer timeline. Pure: events in, sessions out.

A session is a run of one customer's web events with no gap longer than 30 minutes (the usual web
analytics rule). Its summary says what a salesperson wants to know before calling:
"viewed 3 vehicles, the 2024 Toyota RAV4 XLE 4 times, finished the trade-in calculator".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

SESSION_GAP = timedelta(minutes=30)

VDP_VIEW = "asc_item_pageview"
SRP_VIEW = "asc_itemlist_pageview"
FORM_SUBMISSION = "asc_form_submission"
CTA = "asc_cta_interaction"

# Things a shopper finished that the salesperson should read in the summary, in this order.
MILESTONES = {
    "trade_in_calculator_completed": "finished the trade-in calculator",
    "payment_calculator_used": "used the payment calculator",
    "credit_application_started": "started a credit application",
    "price_drop_alert_subscribed": "asked for a price-drop alert",
    "price_drop_alert_clicked": "came back from a price-drop alert",
    "chat_started": "started a chat",
    FORM_SUBMISSION: "sent a form",
}


@dataclass(frozen=True)
class WebEvent:
    event_id: int
    occurred_at: datetime
    rooftop_id: int
    event: str  # asc_item_pageview, trade_in_calculator_completed, ... (page views have "" or a page name)
    vin: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class WebSession:
    started_at: datetime
    ended_at: datetime
    rooftop_id: int
    event_count: int
    first_event_id: int
    last_event_id: int
    vehicles_viewed: int
    top_vehicle: str  # "2024 Toyota RAV4 XLE" or ""
    top_vehicle_views: int
    top_vehicle_vin: str
    milestones: tuple[str, ...]
    page_views: int

    @property
    def summary(self) -> str:
        return session_summary(self)


def _vehicle_title(properties: Mapping[str, Any]) -> str:
    parts = [properties.get(k) for k in ("item_year", "item_make", "item_model", "item_variant")]
    return " ".join(str(p).strip() for p in parts if p not in (None, "") and str(p).strip())


def sessions_from_events(events: Iterable[WebEvent], *, gap: timedelta = SESSION_GAP) -> list[WebSession]:
    """Group events (any order) into sessions split at gaps longer than `gap`, oldest session first."""
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    groups: list[list[WebEvent]] = []
    for event in ordered:
        if groups and event.occurred_at - groups[-1][-1].occurred_at <= gap:
            groups[-1].append(event)
        else:
            groups.append([event])
    return [_condense(group) for group in groups]


def _condense(group: Sequence[WebEvent]) -> WebSession:
    views: Counter[str] = Counter()
    titles: dict[str, str] = {}
    milestones: list[str] = []
    page_views = 0
    for event in group:
        if event.event == VDP_VIEW:
            key = (event.vin or str(event.properties.get("item_id") or "")).upper() or _vehicle_title(event.properties)
            if key:
                views[key] += 1
                titles.setdefault(key, _vehicle_title(event.properties) or f"vehicle {key}")
        elif event.event in MILESTONES and MILESTONES[event.event] not in milestones:
            milestones.append(MILESTONES[event.event])
        elif event.event in ("", SRP_VIEW, "asc_pageview") or not event.event:
            page_views += 1
    top_key, top_count = ("", 0)
    if views:
        # Most viewed; ties go to the vehicle seen first, which is stable for the same events.
        top_key, top_count = max(views.items(), key=lambda kv: kv[1])
    ordered_milestones = tuple(m for m in MILESTONES.values() if m in milestones)
    return WebSession(
        started_at=group[0].occurred_at,
        ended_at=group[-1].occurred_at,
        rooftop_id=group[0].rooftop_id,
        event_count=len(group),
        first_event_id=group[0].event_id,
        last_event_id=group[-1].event_id,
        vehicles_viewed=len(views),
        top_vehicle=titles.get(top_key, ""),
        top_vehicle_views=top_count,
        top_vehicle_vin=top_key if len(top_key) == 17 else "",
        milestones=ordered_milestones,
        page_views=page_views,
    )


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def session_summary(session: WebSession) -> str:
    """One line for the timeline: what they looked at and what they finished."""
    parts: list[str] = []
    if session.vehicles_viewed == 1:
        parts.append(f"viewed the {session.top_vehicle} {_times(session.top_vehicle_views)}")
    elif session.vehicles_viewed > 1:
        text = f"viewed {session.vehicles_viewed} vehicles"
        if session.top_vehicle_views > 1:
            text += f", the {session.top_vehicle} {_times(session.top_vehicle_views)}"
        parts.append(text)
    parts.extend(session.milestones)
    if not parts:
        pages = session.page_views or session.event_count
        parts.append(f"browsed {pages} page{'s' if pages != 1 else ''}")
    text = ", ".join(parts)
    return text[0].upper() + text[1:]
