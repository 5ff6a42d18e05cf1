"""Who hears of one price drop, and what the message says. Pure: no database, `now` passed in.

marketing.price_drops gathers the drop, its subscribers and the shoppers who viewed the car, and asks here:
a subscriber hears of a drop when it reaches the price they named (or any drop if they named none); a shopper
who viewed the car in the last N days hears of it as an offer; someone who is both hears once, as the
subscriber (they asked: `Offer.requested`, which the weekly cap and a salesperson's open lead do not hold back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SUBSCRIBER, VIEWER = "subscriber", "viewer"


@dataclass(frozen=True)
class Drop:
    """One price change that lowered a vehicle's price, with what the message names."""

    price_change_id: int
    vin: str
    vehicle: str  # "2024 Toyota RAV4 XLE"
    stock_number: str
    old_cents: int
    new_cents: int
    url: str  # the vehicle's page on the dealer website
    store: str  # the rooftop's name, who the message is from

    @property
    def saved_cents(self) -> int:
        return self.old_cents - self.new_cents


def is_drop(old_cents: int, new_cents: int) -> bool:
    return 0 < new_cents < old_cents


def subscriber_hears(*, below_cents: int | None, new_cents: int) -> bool:
    """'Tell me when it drops below $X': the new price must reach X; no X means any drop."""
    return below_cents is None or new_cents <= below_cents


def viewed_since(state: Mapping[str, Any], vin: str, since: datetime) -> bool:
    """Whether a shopper's scoring state (alerts.scoring.ShopperState.to_dict) has this VIN seen at or after
    `since`. A state that cannot be read counts as not viewed: better one shopper missed than a guess."""
    vehicles = state.get("vehicles") if isinstance(state, Mapping) else None
    if not isinstance(vehicles, list):
        return False
    vin = vin.upper()
    for track in vehicles:
        if not isinstance(track, Mapping) or str(track.get("vin") or "").upper() != vin:
            continue
        seen = [track.get("last_seen_at"), *(track.get("views") or [])]
        for raw in seen:
            when = _parse(raw)
            if when is not None and when >= since:
                return True
    return False


def _parse(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def audience(*, subscribers: Iterable[int], viewers: Iterable[int]) -> dict[int, str]:
    """customer id → SUBSCRIBER or VIEWER; one entry per customer, the subscriber's when they are both."""
    chosen = {customer_id: VIEWER for customer_id in viewers}
    chosen.update({customer_id: SUBSCRIBER for customer_id in subscribers})
    return chosen


def dollars(cents: int) -> str:
    return f"${cents / 100:,.0f}" if cents % 100 == 0 else f"${cents / 100:,.2f}"


def email_subject(drop: Drop) -> str:
    return f"Price drop: {drop.vehicle} is now {dollars(drop.new_cents)}"[:200]


def email_body(drop: Drop, *, first_name: str, why: str) -> str:
    """Plain text; the outbox's composer adds the store's address, unsubscribe link and tracked links."""
    because = ("you asked us to tell you when its price drops" if why == SUBSCRIBER
               else "you looked at it on our website")
    greeting = f"Hi {first_name}," if first_name else "Hi,"
    return (
        f"{greeting}\n\n"
        f"Good news about the {drop.vehicle} (stock {drop.stock_number}): its price just dropped from "
        f"{dollars(drop.old_cents)} to {dollars(drop.new_cents)}, {dollars(drop.saved_cents)} less. "
        f"We're writing because {because}.\n\n"
        f"See it here: {drop.url}\n\n"
        f"{drop.store}\n"
    )


def sms_body(drop: Drop) -> str:
    return (f"{drop.store}: the {drop.vehicle} dropped from {dollars(drop.old_cents)} to "
            f"{dollars(drop.new_cents)}. {drop.url}")
