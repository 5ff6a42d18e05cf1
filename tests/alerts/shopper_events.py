"""Shopper events for alert tests, sent through tracking's own path (normalize + events_record)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from tracking.messages import normalize
from tracking.models import Visitor
from tracking.services import events_record

_ids = itertools.count(1)


def vdp(vehicle, *, at: datetime | None = None, anonymous_id: str = "anon-1") -> dict:
    """An ASC vehicle detail page view, as track.js sends it (dollars, item_* properties)."""
    return {
        "type": "track", "event": "asc_item_pageview", "anonymousId": anonymous_id,
        "messageId": f"msg-{next(_ids)}", "timestamp": (at or timezone.now()).isoformat(),
        "properties": {
            "item_id": vehicle.vin, "item_number": vehicle.stock_number, "item_year": vehicle.year,
            "item_make": vehicle.make, "item_model": vehicle.model, "item_variant": vehicle.trim,
            "item_price": vehicle.price_cents / 100, "page_type": "item",
        },
    }


def track(event: str, *, at: datetime | None = None, anonymous_id: str = "anon-1", **properties) -> dict:
    return {"type": "track", "event": event, "anonymousId": anonymous_id, "messageId": f"msg-{next(_ids)}",
            "timestamp": (at or timezone.now()).isoformat(), "properties": properties}


def send(rooftop, raws: list[dict], *, received_at: datetime | None = None):
    """What the collector does with a batch: normalize each message, then store them (scoring queued on commit)."""
    received_at = received_at or timezone.now()
    messages = [normalize(raw, received_at=received_at) for raw in raws]
    return events_record(rooftop=rooftop, messages=messages, received_at=received_at)


def identify(rooftop, anonymous_id: str, customer) -> Visitor:
    """Link a browser to a customer (identity resolution is tracking's job; tests set the link directly)."""
    visitor, _ = Visitor.unscoped.get_or_create(rooftop=rooftop, anonymous_id=anonymous_id)
    visitor.customer = customer
    visitor.identified_at = timezone.now()
    visitor.save(update_fields=["customer", "identified_at"])
    return visitor


@dataclass
class Shopper:
    customer: object
    visitor: object
    vehicle: object
    lead: object | None
    anonymous_id: str


def views(shopper: Shopper, count: int, *, start: datetime | None = None, step=timedelta(minutes=10)) -> list[dict]:
    start = start or timezone.now() - step * count
    return [vdp(shopper.vehicle, at=start + step * i, anonymous_id=shopper.anonymous_id) for i in range(count)]


