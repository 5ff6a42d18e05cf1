"""What each owned vehicle is worth, what is still owed on it, and whether its owner is ready to trade.

The decisions are pure (`service.payoff`, `service.mileage`, `service.valuation`, `service.triggers`); this module
loads their inputs for a batch of vehicles in a fixed number of queries and keeps the results as one
`VehicleOpportunity` per vehicle. The nightly scan (`opportunities_scan`, beat) walks every owned vehicle in id
order, a batch at a time; a DMS import of deals or repair orders refreshes its store's right after.

- Finance comes from the vehicle's latest deal (`VehicleSale`: loan or lease terms); a payoff typed in or imported
  with its date wins over the estimate.
- Mileage comes from the repair orders' mileage-in over time (the car's own pace), and the deal's odometer.
- The value is kept for a month, and made again sooner when the mileage estimate moved by 500 miles or more
  (a new repair order's reading): a valuation feed charges per call.
- The store is the one that sold it, else the one that last serviced it; a car with neither is not scanned.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Max
from django.db.models.functions import Lower
from django.utils import timezone

from crm.bulk import copy_insert
from crm.encrypted_fields import readable
from customers.models import OwnedVehicle, VehicleSale
from leads.models import InventoryVehicle
from service.models import RepairOrder, TradeThresholds, VehicleOpportunity
from service.mileage import Reading, mileage_estimate
from service.payoff import KnownPayoff, LeaseTerms, LoanTerms, payoff_of
from service.triggers import OwnedVehicleFacts, Thresholds, opportunity_score, trade_triggers
from service.valuation import ValuationProvider, VehicleFacts, provider

logger = logging.getLogger(__name__)

BATCH = 2_000
REVALUE_AFTER = timedelta(days=30)
REVALUE_MILES = 500
ON_LOT = (InventoryVehicle.Status.IN_STOCK, InventoryVehicle.Status.IN_TRANSIT)


def equity_band(equity_cents: int | None) -> str:
    band = VehicleOpportunity.EquityBand
    if equity_cents is None:
        return band.UNKNOWN
    if equity_cents < 0:
        return band.NEGATIVE
    if equity_cents < 200_000:
        return band.UNDER_2K
    if equity_cents < 500_000:
        return band.FROM_2K
    if equity_cents < 1_000_000:
        return band.FROM_5K
    return band.OVER_10K


def thresholds_for(rooftop_ids: Iterable[int]) -> dict[int, Thresholds]:
    """Each store's lines; a store that never saved its own gets the defaults."""
    rooftop_ids = set(rooftop_ids)
    found = {row.rooftop_id: Thresholds(**{f: getattr(row, f) for f in Thresholds.__dataclass_fields__})
             for row in TradeThresholds.unscoped.filter(rooftop_id__in=rooftop_ids)}
    return {rooftop_id: found.get(rooftop_id, Thresholds()) for rooftop_id in rooftop_ids}


@dataclass
class _Facts:
    vehicle: OwnedVehicle
    rooftop_id: int | None = None
    sale: VehicleSale | None = None
    readings: list[Reading] | None = None
    open_ro_total_cents: int = 0


def opportunities_refresh(*, vehicle_ids: list[int], today: date, valuer: ValuationProvider | None = None) -> int:
    """Work out and keep the opportunity of each of these vehicles; how many were kept."""
    vehicles = {v.id: _Facts(vehicle=v, readings=[]) for v in OwnedVehicle.objects.filter(id__in=vehicle_ids)}
    if not vehicles:
        return 0
    for sale in (VehicleSale.unscoped.filter(vehicle_id__in=vehicles).order_by("vehicle_id", "-sold_on", "-id")
                 .distinct("vehicle_id")):
        vehicles[sale.vehicle_id].sale = sale
        vehicles[sale.vehicle_id].rooftop_id = sale.rooftop_id
    for vehicle_id, rooftop_id, opened_at, mileage_in, total, status in (
            RepairOrder.unscoped.filter(vehicle_id__in=vehicles).order_by("opened_at")
            .values_list("vehicle_id", "rooftop_id", "opened_at", "mileage_in", "total_cents", "status")):
        facts = vehicles[vehicle_id]
        if facts.sale is None:
            facts.rooftop_id = rooftop_id  # the latest RO's store, for a car not sold here
        if mileage_in:
            facts.readings.append(Reading(opened_at.date(), mileage_in))
        if status == RepairOrder.Status.OPEN:
            facts.open_ro_total_cents += total or 0
    scanned = [f for f in vehicles.values() if f.rooftop_id is not None]
    if not scanned:
        return 0
    limits = thresholds_for(f.rooftop_id for f in scanned)
    newest_on_lot = {
        (row["rooftop_id"], row["make_l"], row["model_l"]): row["newest"]
        for row in InventoryVehicle.objects.for_rooftops(list(limits)).filter(status__in=ON_LOT)
        .annotate(make_l=Lower("make"), model_l=Lower("model")).values("rooftop_id", "make_l", "model_l")
        .annotate(newest=Max("year"))
    }
    kept = {o.vehicle_id: o for o in VehicleOpportunity.unscoped.filter(vehicle_id__in=vehicles)}
    valuer = valuer or provider()
    rows = [_opportunity(f, today=today, limits=limits[f.rooftop_id], newest_on_lot=newest_on_lot,
                         kept=kept.get(f.vehicle.id), valuer=valuer) for f in scanned]
    for row in rows:
        if row.vehicle_id in kept:
            row.pk = kept[row.vehicle_id].pk  # a row keeps its id: the equity mining list posts ids back
    # Replaced rather than upserted: an INSERT ... ON CONFLICT of two thousand rows is one enormous statement
    # to build and adapt; COPY streams them (crm.bulk).
    with transaction.atomic():
        VehicleOpportunity.unscoped.filter(vehicle_id__in=[row.vehicle_id for row in rows])._raw_delete(
            VehicleOpportunity.unscoped.db)
        copy_insert(VehicleOpportunity, rows)
    return len(rows)


def _opportunity(facts: _Facts, *, today: date, limits: Thresholds, newest_on_lot: dict, kept, valuer) -> VehicleOpportunity:
    vehicle, sale = facts.vehicle, facts.sale
    loan = lease = None
    if sale is not None and sale.deal_type == VehicleSale.DealType.FINANCE:
        loan = LoanTerms(amount_financed_cents=readable(sale.amount_financed_cents), apr=_decimal(readable(sale.apr)),
                         term_months=sale.term_months, first_payment_on=sale.first_payment_on,
                         monthly_payment_cents=readable(sale.payment_cents))
    elif sale is not None and sale.deal_type == VehicleSale.DealType.LEASE:
        lease = LeaseTerms(residual_cents=sale.residual_cents, maturity_on=sale.maturity_on,
                           monthly_payment_cents=readable(sale.payment_cents), term_months=sale.term_months)
    typed = readable(vehicle.payoff_cents)
    known = None
    if typed is not None:
        on = vehicle.payoff_on or (vehicle.valued_at.date() if vehicle.valued_at else None)
        known = KnownPayoff(cents=typed, on=on, source="on file")
    payoff = payoff_of(today=today, loan=loan, lease=lease, known=known)
    if sale is not None and sale.deal_type == VehicleSale.DealType.CASH and known is None:
        payoff_cents, payoff_method = 0, f"paid in cash (deal {sale.deal_number})"
    else:
        payoff_cents, payoff_method = payoff.payoff_cents, payoff.method
    miles = mileage_estimate(today=today, readings=facts.readings or (), sale_on=sale.sold_on if sale else None,
                             sale_mileage=sale.mileage if sale else None)
    value_cents, source, method, valued_on, valued_mileage = _value(vehicle, sale, miles.miles, today, kept, valuer)
    equity = value_cents - payoff_cents if value_cents is not None and payoff_cents is not None else None
    newest = newest_on_lot.get((facts.rooftop_id, (vehicle.make or "").lower(), (vehicle.model or "").lower()))
    triggers = trade_triggers(OwnedVehicleFacts(
        year=vehicle.year, make=vehicle.make, model=vehicle.model, equity_cents=equity,
        lease_maturity_on=lease.maturity_on if lease else None,
        lease_start_on=sale.sold_on if lease and sale else None,
        lease_miles_per_year=sale.miles_per_year if lease and sale else None,
        lease_start_mileage=sale.mileage if lease and sale else None,
        estimated_mileage=miles.miles, payments_left=payoff.payments_left if loan else None,
        open_ro_total_cents=facts.open_ro_total_cents, newer_model_year_in_stock=newest,
    ), today=today, thresholds=limits)
    return VehicleOpportunity(
        rooftop_id=facts.rooftop_id, customer_id=vehicle.customer_id, vehicle=vehicle,
        payoff_cents=payoff_cents, payoff_method=payoff_method[:2000],
        payments_left=payoff.payments_left if loan or lease else None,
        mileage=miles.miles, mileage_method=miles.method[:2000], value_cents=value_cents, value_source=source[:100],
        value_method=method[:2000], valued_on=valued_on, valued_mileage=valued_mileage, equity_cents=equity,
        equity_band=equity_band(equity), trigger_kinds=[t.kind.value for t in triggers],
        reasons=[{"kind": t.kind.value, "reason": t.reason} for t in triggers], score=opportunity_score(triggers),
        scanned_on=today, found_on=(kept.found_on if kept is not None and kept.found_on else (today if triggers else None)),
    )


def _value(vehicle: OwnedVehicle, sale: VehicleSale | None, mileage: int | None, today: date, kept, valuer):
    """The value kept from the last scan while it is under a month old and the mileage has not moved; else a new one.
    A trade value typed in by staff (an appraisal) wins while it is under a month old."""
    if vehicle.trade_value_cents is not None and vehicle.valued_at and today - vehicle.valued_at.date() < REVALUE_AFTER:
        return (vehicle.trade_value_cents, "appraisal on file", f"typed in on {vehicle.valued_at.date():%b %-d, %Y}",
                vehicle.valued_at.date(), mileage)
    if (kept is not None and kept.valued_on and today - kept.valued_on < REVALUE_AFTER
            and kept.value_source and (mileage is None or kept.valued_mileage is None
                                       or abs(mileage - kept.valued_mileage) < REVALUE_MILES)):
        return kept.value_cents, kept.value_source, kept.value_method, kept.valued_on, kept.valued_mileage
    valuation = valuer.value(VehicleFacts(
        year=vehicle.year, make=vehicle.make, model=vehicle.model, mileage=mileage,
        sale_price_cents=sale.price_cents if sale else None, sale_on=sale.sold_on if sale else None,
        sale_mileage=sale.mileage if sale else None,
    ), today)
    return valuation.cents, valuation.source, valuation.method, today, mileage


def _decimal(text) -> Decimal | None:
    try:
        return Decimal(str(text)) if text not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


def opportunities_scan(*, today: date | None = None, rooftop_id: int | None = None, batch: int = BATCH) -> int:
    """Every owned vehicle (of one store's customers, when given), a batch at a time in id order."""
    today = today or timezone.localdate()
    vehicles = OwnedVehicle.objects.order_by("id")
    if rooftop_id is not None:
        vehicles = vehicles.filter(customer__known_at__rooftop_id=rooftop_id)
    done, after = 0, 0
    while True:
        ids = list(vehicles.filter(id__gt=after).values_list("id", flat=True)[:batch])
        if not ids:
            return done
        done += opportunities_refresh(vehicle_ids=ids, today=today)
        after = ids[-1]
