"""Writes for inventory: VINs are validated, and every price change is kept (price-drop alerts read it)."""

from django.db import transaction
from django.utils import timezone

from crm.handoff import hand_off
from leads.models import InventoryVehicle, PriceChange
from leads.vin import normalize_vin


@transaction.atomic
def vehicle_set_price(*, vehicle: InventoryVehicle, price_cents: int) -> PriceChange | None:
    if price_cents <= 0:
        raise ValueError("A price must be more than zero.")
    if price_cents == vehicle.price_cents:
        return None
    change = PriceChange.objects.create(
        vehicle=vehicle, old_price_cents=vehicle.price_cents, new_price_cents=price_cents, changed_at=timezone.now()
    )
    vehicle.price_cents = price_cents
    vehicle.save(update_fields=["price_cents", "updated_at"])
    if price_cents < change.old_price_cents:
        transaction.on_commit(lambda: _hint_price_drop(change.id))
    return change


def _hint_price_drop(price_change_id: int) -> None:
    """Price-drop alerts go out within seconds of the drop; marketing's sweep sends them if this hint is lost."""
    try:
        from marketing.tasks import price_drop_dispatch
    except ImportError:  # marketing not installed: nothing listens for drops
        return
    hand_off(lambda: price_drop_dispatch.delay(price_change_id), what=f"price drop {price_change_id}")


def vehicle_create(*, rooftop, vin: str, **fields) -> InventoryVehicle:
    """A vehicle with a checked VIN (InvalidVin says why it is not one)."""
    return InventoryVehicle.objects.create(rooftop=rooftop, vin=normalize_vin(vin), **fields)


UPDATABLE = frozenset({"vin", "stock_number", "year", "make", "model", "trim", "body_style", "exterior_color",
                       "interior_color", "condition", "mileage", "msrp_cents", "status", "photo_url", "photo_urls",
                       "received_at", "feed_unlisted_at"})


@transaction.atomic
def vehicle_update(*, vehicle: InventoryVehicle, price_cents: int | None = None, **fields) -> InventoryVehicle:
    """Change a vehicle's details; a new price goes through `vehicle_set_price`, so it is kept as a price change."""
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise ValueError(f"Cannot change {', '.join(sorted(unknown))} here.")
    if "vin" in fields:
        fields["vin"] = normalize_vin(fields["vin"])
    changed = [name for name, value in fields.items() if getattr(vehicle, name) != value]
    for name in changed:
        setattr(vehicle, name, fields[name])
    if changed:
        vehicle.save(update_fields=[*changed, "updated_at"])
    if price_cents is not None:
        vehicle_set_price(vehicle=vehicle, price_cents=price_cents)
    return vehicle
