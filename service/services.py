"""Writes of the service-to-sales side: a customer's visit starts in the lane and sales hears about it once;
equity-mining opportunities become leads."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alert_notify
from customers.models import Appointment, Customer, OwnedVehicle, TimelineEntry
from leads.models import Lead
from leads.services.new_leads import lead_create
from rooftops.models import Role, Rooftop, StaffRole
from rooftops.tenancy import StaffAccess
from service.lane_alert import KIND, lane_alert_text, promised_default
from service.models import RepairOrder, ServiceVisit, VehicleOpportunity
from service.opportunities import opportunities_refresh
from service.selectors import MINING_ROLES

logger = logging.getLogger(__name__)

AFTER_PROMISED = timedelta(hours=1)  # the alert stays on the feed until an hour after the car was promised


def salesperson_of_record(*, rooftop: Rooftop, customer: Customer) -> User | None:
    """The salesperson on the customer's latest lead at this store (after any reroute: the lead's owner now),
    while they still sell here. A DMS deal carries no seller in this CRM, so the lead is the record."""
    lead = (Lead.unscoped.filter(rooftop=rooftop, customer=customer, assigned_to__isnull=False,
                                 assigned_to__is_active=True)
            .select_related("assigned_to__staff_profile").order_by("-created_at", "-id").first())
    if lead is None:
        return None
    sells_here = StaffRole.objects.filter(user_id=lead.assigned_to_id, rooftop=rooftop,
                                          role__in=(Role.SALESPERSON, Role.MANAGER)).exists()
    return lead.assigned_to if sells_here else None


def _what(appointment: Appointment | None, repair_order: RepairOrder | None) -> str:
    if repair_order is not None and repair_order.lines:
        first = repair_order.lines[0]
        return (first.get("description") or first.get("op_code") or "service").lower()
    if appointment is not None:
        return appointment.get_kind_display().lower()
    return "service"


def service_visit_started(rooftop: Rooftop, customer: Customer, vehicle: OwnedVehicle | None = None,
                          appointment: Appointment | None = None, repair_order: RepairOrder | None = None,
                          promised_at: datetime | None = None, user: User | None = None,
                          now: datetime | None = None) -> ServiceVisit:
    """A customer is in the lane (checked in, or an RO opened): refresh their cars' opportunities and, when a car
    has a reason to trade or a sales lead is open, tell sales once for the visit (the salesperson of record first,
    and the sales team's feed), on the customer's timeline too."""
    now = now or timezone.now()
    zone = ZoneInfo(rooftop.time_zone)
    today = now.astimezone(zone).date()
    with transaction.atomic():
        visit, created = ServiceVisit.unscoped.select_for_update().get_or_create(
            rooftop=rooftop, customer=customer, visit_on=today,
            defaults={"started_at": now, "started_by": user, "appointment": appointment, "repair_order": repair_order,
                      "promised_at": promised_at},
        )
        if not created:
            # The same visit again (a second click, the RO of a checked-in customer): fill in what was missing.
            fields = []
            for name, value in (("appointment", appointment), ("repair_order", repair_order)):
                if value is not None and getattr(visit, f"{name}_id") is None:
                    setattr(visit, name, value)
                    fields.append(name)
            if promised_at is not None and visit.promised_at is None:
                visit.promised_at = promised_at
                fields.append("promised_at")
            if fields:
                visit.save(update_fields=fields)
        if visit.alert_id is not None:
            return visit
        if visit.promised_at is None:
            visit.promised_at = promised_default(started_at=visit.started_at,
                                                 appointment_kind=appointment.kind if appointment else None)
            visit.save(update_fields=["promised_at"])
        vehicle_ids = list(OwnedVehicle.objects.filter(customer=customer).values_list("id", flat=True))
        if vehicle_ids:
            opportunities_refresh(vehicle_ids=vehicle_ids, today=today)
        opportunities = list(VehicleOpportunity.unscoped.filter(customer=customer).exclude(trigger_kinds=[])
                             .order_by("-score", "id"))
        if vehicle is not None:  # the car in the lane first
            opportunities.sort(key=lambda o: o.vehicle_id != vehicle.pk)
        trade_reasons = [r["reason"] for o in opportunities for r in o.reasons]
        lead = (Lead.unscoped.filter(rooftop=rooftop, customer=customer, status__in=Lead.OPEN_STATUSES)
                .exclude(source=Lead.Source.SERVICE).select_related("assigned_to__staff_profile")
                .order_by("-created_at", "-id").first())
        if not trade_reasons and lead is None:
            return visit
        seller = salesperson_of_record(rooftop=rooftop, customer=customer)
        lead_with = None
        if lead is not None:
            profile = getattr(lead.assigned_to, "staff_profile", None) if lead.assigned_to_id else None
            lead_with = profile.display_name if profile else ""
        text = lane_alert_text(customer_name=customer.full_name,
                               what=_what(visit.appointment or appointment, visit.repair_order or repair_order),
                               promised_at=visit.promised_at.astimezone(zone), trade_reasons=trade_reasons,
                               open_lead_with=lead_with)
        alert = alert_notify(
            rooftop=rooftop, kind=KIND, customer_id=customer.pk, lead_id=lead.pk if lead else None,
            reasons=text.reasons, suggested_next_step=text.suggested_next_step, now=now,
            for_user_id=seller.pk if seller else None, for_team=Alert.Team.SALES, priority=Alert.Priority.HIGH,
            # Worth acting on while the customer is still in the store.
            expires_at=max(visit.promised_at, now) + AFTER_PROMISED,
        )
        visit.alert = alert
        visit.save(update_fields=["alert"])
        TimelineEntry.unscoped.create(
            customer=customer, rooftop=rooftop, department=TimelineEntry.Department.SERVICE,
            kind=TimelineEntry.Kind.ALERT, occurred_at=now, actor=user, lead=lead,
            summary=f"Sales told: {'; '.join(text.reasons)}"[:500], body=text.suggested_next_step,
            detail={"alert_id": alert.pk, "alert_kind": KIND, "service_visit_id": visit.pk,
                    "for_user_id": alert.for_user_id},
        )
    return visit


# --- equity mining ---------------------------------------------------------------------------------------

MINING_BATCH_LIMIT = 200  # one bulk action; a longer list is worked page by page


@dataclass(frozen=True)
class MiningOutcome:
    made: list[Lead]
    already: int  # customers who had an open equity-mining lead at that store: not given a second


def equity_leads_create(*, access: StaffAccess, opportunity_ids: list[int], user: User) -> MiningOutcome:
    """One equity-mining lead per chosen customer and store, routed by the store's rules like any new lead; a
    customer with an open one keeps it. The lead carries the reasons, so whoever gets it knows why."""
    allowed = [r for r in access.rooftop_ids if access.has_role(r, *MINING_ROLES)]
    chosen = list(VehicleOpportunity.objects.for_rooftops(allowed).filter(id__in=opportunity_ids[:MINING_BATCH_LIMIT])
                  .select_related("rooftop", "customer", "vehicle").order_by("-score", "id"))
    made: list[Lead] = []
    already = 0
    seen: set[tuple[int, int]] = set()
    for opportunity in chosen:
        key = (opportunity.rooftop_id, opportunity.customer_id)
        if key in seen:
            continue
        seen.add(key)
        with transaction.atomic():
            if Lead.unscoped.filter(rooftop_id=key[0], customer_id=key[1], source=Lead.Source.EQUITY_MINING,
                                    status__in=Lead.OPEN_STATUSES).exists():
                already += 1
                continue
            reasons = "; ".join(r["reason"] for r in opportunity.reasons)
            result = lead_create(
                rooftop=opportunity.rooftop, source=Lead.Source.EQUITY_MINING, customer=opportunity.customer,
                vehicle_description=f"Trade of the {opportunity.vehicle}"[:200],
                comments=f"Equity mining: {reasons}.", created_by=user,
            )
            made.append(result.lead)
    return MiningOutcome(made=made, already=already)


def trade_thresholds_save(*, rooftop: Rooftop, user: User, equity_min_dollars: int, repair_bill_min_dollars: int,
                          **lines: int) -> None:
    """A store's own lines; the next scan (tonight, or after an import) uses them."""
    from service.models import TradeThresholds

    TradeThresholds.unscoped.update_or_create(rooftop=rooftop, defaults={
        "equity_min_cents": equity_min_dollars * 100, "repair_bill_min_cents": repair_bill_min_dollars * 100,
        "updated_by": user, "updated_at": timezone.now(), **lines})


class RepairOrderRefused(ValueError):
    """An RO that cannot be opened as asked; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def repair_order_open(*, rooftop: Rooftop, customer: Customer, ro_number: str, vehicle: OwnedVehicle | None = None,
                      mileage_in: int | None = None, lines: list[dict] | None = None,
                      promised_at: datetime | None = None, user: User | None = None) -> RepairOrder:
    """An RO opened by another system (the DMS's own RO screen, a check-in kiosk): the customer's visit starts, as
    a check-in on the lane starts it, and sales hears about it once."""
    from django.db import IntegrityError

    lines = lines or []
    try:
        with transaction.atomic():
            ro = RepairOrder.unscoped.create(
                rooftop=rooftop, customer=customer, vehicle=vehicle, ro_number=ro_number, advisor=user,
                status=RepairOrder.Status.OPEN, mileage_in=mileage_in, lines=lines,
                total_cents=sum(int(line.get("cents") or 0) for line in lines))
    except IntegrityError:
        raise RepairOrderRefused("ro_number", f"RO {ro_number} is already open or on file at this store.") from None
    TimelineEntry.unscoped.create(
        customer=customer, rooftop=rooftop, department=TimelineEntry.Department.SERVICE,
        kind=TimelineEntry.Kind.SERVICE_VISIT, occurred_at=ro.opened_at, actor=user,
        summary=f"Service visit, RO {ro.ro_number}", detail={"ro_number": ro.ro_number})
    service_visit_started(rooftop, customer, vehicle=vehicle, repair_order=ro, promised_at=promised_at, user=user)
    return ro
