"""One chunk of DMS records into the CRM: customers through the one matcher, then deals, repair orders or
appointments upserted by their natural keys, each new deal and RO written once on the customer's timeline.

Called inside the chunk's transaction (dms.services). Every row is counted exactly once as added, updated or
unchanged; a row is never half-applied because the whole chunk commits or none of it does.

- A deal is keyed by its deal number at the store, an RO by its RO number, an appointment by the DMS's
  appointment number. The same key in a later (or overlapping) file updates the row; an identical row is
  "unchanged" and not rewritten (its fingerprint, dms.records.record_fingerprint, says so).
- A DMS exports an RO once per operation line. Lines are merged by op code and description: a line seen again
  is updated, a new one added; a line the DMS no longer lists is kept (an import never deletes).
- Dates without a time (a deal's date, an RO's open and close dates) are placed at noon in the store's time
  zone, so no time zone moves them to the day before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.db import transaction

from crm.bulk import copy_insert
from customers.matching import ArrivingContact, BatchMatch, customers_match_or_create_many
from customers.models import Appointment, OwnedVehicle, TimelineEntry, VehicleSale
from dms.records import (AppointmentRecord, CustomerPart, CustomerRecord, RepairOrderRecord, SaleRecord,
                         record_fingerprint)
from rooftops.models import Rooftop
from service.models import RepairOrder

logger = logging.getLogger(__name__)


@dataclass
class ChunkResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    # (line, key, reason): rows the database refused after reading (none expected; kept for the error file)
    refused: list[tuple[int, str, str]] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def chunk_apply(*, rooftop: Rooftop, kind: str, records: Sequence, at: datetime) -> ChunkResult:
    if not records:
        return ChunkResult()
    zone = ZoneInfo(rooftop.time_zone)
    matches = customers_match_or_create_many(rooftop=rooftop, contacts=[_contact(r.customer) for r in records], at=at)
    apply = {"customers": _customers, "sales": _sales, "repair_orders": _repair_orders,
             "appointments": _appointments}[kind]
    return apply(rooftop=rooftop, records=records, matches=matches, at=at, zone=zone)


def _contact(part: CustomerPart) -> ArrivingContact:
    return ArrivingContact(
        first_name=part.first_name, last_name=part.last_name, street=part.street, city=part.city,
        region=part.region, postal_code=part.postal_code, emails=(part.email,) if part.email else (),
        phones=((part.phone, ""),) if part.phone else (), dms_customer_number=part.dms_number,
    )


def _noon(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(12), tzinfo=zone)


def _customers(*, rooftop, records: Sequence[CustomerRecord], matches: list[BatchMatch], at, zone) -> ChunkResult:
    result = ChunkResult()
    counted: set[int] = set()
    for match in matches:
        if match.created and match.customer_id not in counted:
            result.count("added")
        elif match.changed and match.customer_id not in counted:
            result.count("updated")
        else:
            result.count("unchanged")
        counted.add(match.customer_id)
    return result


# --- owned vehicles: what a deal or an RO tells us the customer drives -----------------------------------

def _owned_vehicles(*, wanted: dict[tuple[int, str], dict]) -> dict[tuple[int, str], int]:
    """(customer, VIN) -> OwnedVehicle id, made where missing; a higher odometer reading replaces a lower one."""
    if not wanted:
        return {}
    customer_ids = {cid for cid, _ in wanted}
    have: dict[tuple[int, str], OwnedVehicle] = {}
    # By customer only (a few cars each): a `vin IN (...)` is answered from the VIN's trigram index, slowly.
    for vehicle in OwnedVehicle.objects.filter(customer_id__in=customer_ids).order_by("id"):
        if (vehicle.customer_id, vehicle.vin) in wanted:
            have.setdefault((vehicle.customer_id, vehicle.vin), vehicle)
    new, raised = [], {}
    for key, facts in wanted.items():
        vehicle = have.get(key)
        if vehicle is None:
            vehicle = OwnedVehicle(customer_id=key[0], vin=key[1], **facts)
            have[key] = vehicle
            new.append(vehicle)
        elif facts.get("mileage") and (vehicle.mileage or 0) < facts["mileage"]:
            vehicle.mileage = facts["mileage"]
            raised[vehicle.pk] = vehicle
    copy_insert(OwnedVehicle, new)
    if raised:
        OwnedVehicle.objects.bulk_update(list(raised.values()), ["mileage"])
    return {key: vehicle.pk for key, vehicle in have.items()}


def _vehicle_facts(record) -> dict:
    return {"year": record.year, "make": (record.make or "")[:50], "model": (record.model or "")[:80],
            "trim": (getattr(record, "trim", "") or "")[:80],
            "mileage": getattr(record, "mileage", None) or getattr(record, "mileage_in", None)}


# --- vehicle sales ---------------------------------------------------------------------------------------

_SALE_FIELDS = ("customer_id", "vehicle_id", "sold_on", "vin", "year", "make", "model", "trim", "mileage", "new_used",
                "price_cents", "deal_type", "lender", "amount_financed_cents", "apr", "payment_cents", "term_months",
                "first_payment_on", "residual_cents", "maturity_on", "miles_per_year", "trade_ins", "dms_fingerprint",
                "imported_at")


def _sale_values(record: SaleRecord, *, customer_id: int, vehicle_id: int | None, at: datetime) -> dict:
    return {
        "customer_id": customer_id, "vehicle_id": vehicle_id, "sold_on": record.sold_on, "vin": record.vin,
        "year": record.year, "make": record.make[:50], "model": record.model[:80], "trim": record.trim[:80],
        "mileage": record.mileage, "new_used": (record.new_used or "")[:10], "price_cents": record.price_cents,
        "deal_type": record.deal_type, "lender": record.lender or None,
        "amount_financed_cents": record.amount_financed_cents,
        "apr": None if record.apr is None else str(record.apr), "payment_cents": record.payment_cents,
        "term_months": record.term_months, "first_payment_on": record.first_payment_on,
        "residual_cents": record.residual_cents, "maturity_on": record.maturity_on,
        "miles_per_year": record.miles_per_year,
        "trade_ins": [{"vin": t.vin, "year": t.year, "make": t.make, "model": t.model, "mileage": t.mileage,
                       "allowance_cents": t.allowance_cents} for t in record.trade_ins],
        "dms_fingerprint": record_fingerprint(record), "imported_at": at,
    }


def _sales(*, rooftop, records: Sequence[SaleRecord], matches: list[BatchMatch], at, zone) -> ChunkResult:
    result = ChunkResult()
    vehicles = _owned_vehicles(wanted={(m.customer_id, r.vin): _vehicle_facts(r)
                                       for r, m in zip(records, matches) if r.vin})
    existing = {sale.deal_number: sale for sale in
                VehicleSale.unscoped.filter(rooftop=rooftop, deal_number__in={r.deal_number for r in records})}
    new: dict[str, VehicleSale] = {}
    changed: dict[str, VehicleSale] = {}
    for record, match in zip(records, matches):
        values = _sale_values(record, customer_id=match.customer_id,
                              vehicle_id=vehicles.get((match.customer_id, record.vin)), at=at)
        sale = existing.get(record.deal_number) or new.get(record.deal_number)
        if sale is None:
            new[record.deal_number] = VehicleSale(rooftop=rooftop, deal_number=record.deal_number, **values)
            result.count("added")
        elif sale.dms_fingerprint == values["dms_fingerprint"] and sale.customer_id == match.customer_id:
            result.count("unchanged")
        else:
            for name, value in values.items():
                setattr(sale, name, value)
            if sale.pk:
                changed[record.deal_number] = sale
            result.count("updated")
    copy_insert(VehicleSale, list(new.values()))
    if changed:
        VehicleSale.unscoped.bulk_update(list(changed.values()), list(_SALE_FIELDS))
    copy_insert(TimelineEntry, [
        TimelineEntry(customer_id=sale.customer_id, rooftop=rooftop, department=TimelineEntry.Department.SALES,
                      kind=TimelineEntry.Kind.PURCHASE, occurred_at=_noon(sale.sold_on, zone),
                      summary=f"Bought {_vehicle_words(sale)} (deal {sale.deal_number}, from the DMS)"[:500],
                      detail={"source": "dms", "deal_number": sale.deal_number, "vin": sale.vin})
        for sale in new.values()
    ])
    return result


def _vehicle_words(row) -> str:
    title = " ".join(str(p) for p in (row.year, row.make, row.model) if p)
    return f"a {title}" if title else "a vehicle"


# --- repair orders ---------------------------------------------------------------------------------------

def _line_key(line: dict) -> tuple[str, str]:
    return (line.get("op_code", ""), line.get("description", ""))


def _ro_fingerprint(ro: RepairOrder) -> str:
    # Instants, not ISO text: the same noon reads back from the database in UTC.
    state = [ro.customer_id, ro.vehicle_id, ro.opened_at.timestamp(), ro.closed_at and ro.closed_at.timestamp(),
             ro.status, ro.mileage_in, ro.total_cents, ro.lines]
    return hashlib.blake2b(json.dumps(state, sort_keys=True, default=str).encode(), digest_size=16).hexdigest()


def _repair_orders(*, rooftop, records: Sequence[RepairOrderRecord], matches: list[BatchMatch], at,
                   zone) -> ChunkResult:
    result = ChunkResult()
    vehicles = _owned_vehicles(wanted={(m.customer_id, r.vin): _vehicle_facts(r)
                                       for r, m in zip(records, matches) if r.vin})
    orders = {ro.ro_number: ro for ro in
              RepairOrder.unscoped.filter(rooftop=rooftop, ro_number__in={r.ro_number for r in records})}
    before = {number: ro.dms_fingerprint or _ro_fingerprint(ro) for number, ro in orders.items()}
    created: set[str] = set()
    for record, match in zip(records, matches):
        ro = orders.get(record.ro_number)
        if ro is None:
            ro = RepairOrder(rooftop=rooftop, ro_number=record.ro_number, customer_id=match.customer_id, lines=[])
            orders[record.ro_number] = ro
            created.add(record.ro_number)
        previous = None if record.ro_number in created else _ro_fingerprint(ro)
        ro.customer_id = match.customer_id
        if record.vin:
            ro.vehicle_id = vehicles.get((match.customer_id, record.vin))
        ro.opened_at = _noon(record.opened_on, zone)
        ro.closed_at = _noon(record.closed_on, zone) if record.closed_on else None
        ro.status = RepairOrder.Status.CLOSED if record.closed_on else RepairOrder.Status.OPEN
        if record.mileage_in is not None:
            ro.mileage_in = record.mileage_in
        if record.op_code or record.op_description:
            line = {"op_code": record.op_code, "description": record.op_description, "cents": record.op_cents or 0}
            lines = [existing for existing in ro.lines if _line_key(existing) != _line_key(line)]
            position = next((i for i, existing in enumerate(ro.lines) if _line_key(existing) == _line_key(line)), None)
            lines.insert(len(lines) if position is None else position, line)
            ro.lines = lines
        ro.total_cents = record.total_cents if record.total_cents is not None else \
            sum(int(line.get("cents") or 0) for line in ro.lines)
        now = _ro_fingerprint(ro)
        if previous is None:
            result.count("added")  # a new RO, or another operation line of one this chunk made
        elif previous == now:
            result.count("unchanged")
        else:
            result.count("updated")
        ro.dms_fingerprint = now
    new = [orders[number] for number in created]
    copy_insert(RepairOrder, new)
    changed = [ro for number, ro in orders.items() if number not in created and before[number] != ro.dms_fingerprint]
    if changed:
        RepairOrder.unscoped.bulk_update(changed, ["customer_id", "vehicle_id", "opened_at", "closed_at", "status",
                                                   "mileage_in", "total_cents", "lines", "dms_fingerprint"])
    copy_insert(TimelineEntry, [
        TimelineEntry(customer_id=ro.customer_id, rooftop=rooftop, department=TimelineEntry.Department.SERVICE,
                      kind=TimelineEntry.Kind.SERVICE_VISIT, occurred_at=ro.opened_at,
                      summary=f"Service visit, RO {ro.ro_number} (from the DMS)",
                      detail={"source": "dms", "ro_number": ro.ro_number})
        for ro in new
    ])
    _visits_started(rooftop=rooftop, new=new, at=at, zone=zone)
    return result


def _visits_started(*, rooftop, new: list[RepairOrder], at: datetime, zone: ZoneInfo) -> None:
    """A new RO opened today is a customer in the lane now: sales may want to know (service_visit_started).
    An import of history brings years of ROs, none opened today, and tells no one."""
    from service.services import service_visit_started

    today = at.astimezone(zone).date()
    for ro in new:
        if ro.status != RepairOrder.Status.OPEN or ro.opened_at.astimezone(zone).date() != today:
            continue
        try:
            with transaction.atomic():
                service_visit_started(rooftop, ro.customer, vehicle=ro.vehicle, repair_order=ro, now=at)
        except Exception:  # noqa: BLE001 - the alert is a courtesy; the RO itself is imported either way
            logger.warning("could not start the service visit of RO %s", ro.ro_number, exc_info=True)


# --- service appointments --------------------------------------------------------------------------------

def _appointments(*, rooftop, records: Sequence[AppointmentRecord], matches: list[BatchMatch], at,
                  zone) -> ChunkResult:
    result = ChunkResult()
    existing = {a.dms_number: a for a in Appointment.unscoped.filter(
        rooftop=rooftop, dms_number__in={r.appointment_number for r in records})}
    new: dict[str, Appointment] = {}
    changed: dict[str, Appointment] = {}
    for record, match in zip(records, matches):
        fingerprint = record_fingerprint(record)
        values = {
            "customer_id": match.customer_id, "scheduled_at": record.scheduled_at.replace(tzinfo=zone),
            "department": record.department, "kind": record.kind, "notes": record.notes,
            "dms_fingerprint": fingerprint,
        }
        appointment = existing.get(record.appointment_number) or new.get(record.appointment_number)
        if appointment is None:
            new[record.appointment_number] = Appointment(rooftop=rooftop, dms_number=record.appointment_number,
                                                         created_at=at, **values)
            result.count("added")
        elif appointment.dms_fingerprint == fingerprint and appointment.customer_id == match.customer_id:
            result.count("unchanged")
        else:
            for name, value in values.items():
                setattr(appointment, name, value)
            if appointment.pk:
                changed[record.appointment_number] = appointment
            result.count("updated")
    copy_insert(Appointment, list(new.values()))
    if changed:
        Appointment.unscoped.bulk_update(list(changed.values()),
                                         ["customer_id", "scheduled_at", "department", "kind", "notes", "dms_fingerprint"])
    return result
