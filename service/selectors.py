"""Reads for the service lane: today's appointments and open ROs, with the flags sales cares about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from crm.encrypted_fields import readable
from customers.models import Appointment, Customer, OwnedVehicle, TimelineEntry
from leads.models import Lead
from rooftops.models import Role, Rooftop
from rooftops.tenancy import StaffAccess
from service.equity import Equity, best_equity
from service.models import RepairOrder, ServiceVisit, VehicleOpportunity

MAX_LANE_REASONS = 4


@dataclass(frozen=True)
class LaneCustomer:
    customer: Customer
    equity: Equity
    open_sales_lead: Lead | None
    # Why the customer may be ready to trade, strongest first: [{"kind", "reason"}] from their cars' opportunities.
    reasons: tuple[dict, ...] = ()
    # Today's visit, if checked in or an RO opened; its alert (and who claimed it) is "sales told".
    visit: ServiceVisit | None = None


@dataclass(frozen=True)
class LaneRow:
    when: datetime
    what: str  # "Service visit" / "RO 50123"
    appointment: Appointment | None
    repair_order: RepairOrder | None
    who: LaneCustomer


@dataclass(frozen=True)
class Lane:
    rooftop: Rooftop
    day_start: datetime
    appointments: list[LaneRow]
    open_ros: list[LaneRow]


def service_lane(*, access: StaffAccess, rooftop: Rooftop, now: datetime) -> Lane:
    """Today (on the rooftop's clock) at one rooftop; the rooftop must be one the user may see."""
    zone = ZoneInfo(rooftop.time_zone)
    local_day = now.astimezone(zone).date()
    start = datetime.combine(local_day, time(0), tzinfo=zone)
    end = datetime.combine(local_day + timedelta(days=1), time(0), tzinfo=zone)
    appointments = list(
        Appointment.objects.for_rooftops([rooftop.pk]).filter(
            department=Appointment.Department.SERVICE, scheduled_at__gte=start, scheduled_at__lt=end,
        ).exclude(status=Appointment.Status.CANCELLED).select_related("customer", "assigned_to__staff_profile")
        .order_by("scheduled_at")[:300]
    )
    ros = list(
        RepairOrder.objects.for_rooftops([rooftop.pk]).filter(status=RepairOrder.Status.OPEN)
        .select_related("customer", "vehicle", "advisor__staff_profile").order_by("opened_at")[:300]
    )
    customer_ids = {a.customer_id for a in appointments} | {r.customer_id for r in ros}
    values: dict[int, list[tuple[int | None, int | None]]] = {}
    for customer_id, trade, payoff in OwnedVehicle.objects.filter(customer_id__in=customer_ids).values_list(
            "customer_id", "trade_value_cents", "payoff_cents"):
        values.setdefault(customer_id, []).append((trade, readable(payoff)))  # encrypted: Python, not SQL
    leads: dict[int, Lead] = {}
    for lead in (Lead.objects.for_access(access).filter(customer_id__in=customer_ids, status__in=Lead.OPEN_STATUSES)
                 .exclude(source=Lead.Source.SERVICE).select_related("assigned_to__staff_profile").order_by("-created_at")):
        leads.setdefault(lead.customer_id, lead)

    reasons: dict[int, list[dict]] = {}
    for customer_id, found in (VehicleOpportunity.unscoped.filter(customer_id__in=customer_ids).exclude(trigger_kinds=[])
                               .order_by("-score", "id").values_list("customer_id", "reasons")):
        reasons.setdefault(customer_id, []).extend(found)
    visits = {v.customer_id: v for v in ServiceVisit.objects.for_rooftops([rooftop.pk]).filter(
        customer_id__in=customer_ids, visit_on=local_day).select_related("alert__claimed_by__staff_profile")}

    def who(customer: Customer) -> LaneCustomer:
        return LaneCustomer(customer=customer, equity=best_equity(values.get(customer.pk, [])),
                            open_sales_lead=leads.get(customer.pk),
                            reasons=tuple(reasons.get(customer.pk, [])[:MAX_LANE_REASONS]),
                            visit=visits.get(customer.pk))

    return Lane(
        rooftop=rooftop, day_start=start,
        appointments=[LaneRow(when=a.scheduled_at, what=a.get_kind_display(), appointment=a, repair_order=None,
                              who=who(a.customer)) for a in appointments],
        open_ros=[LaneRow(when=r.opened_at, what=f"RO {r.ro_number}", appointment=None, repair_order=r,
                          who=who(r.customer)) for r in ros],
    )


def repair_orders_search(*, access: StaffAccess, rooftop_id: int | None = None, status: str = "",
                         customer_id: int | None = None, opened_after: datetime | None = None,
                         opened_before: datetime | None = None):
    """Repair orders at the user's rooftops, filtered (the staff API's list)."""
    ros = RepairOrder.objects.for_access(access).select_related("customer", "vehicle", "advisor__staff_profile")
    for field, value in (("rooftop_id", rooftop_id), ("status", status), ("customer_id", customer_id)):
        if value:
            ros = ros.filter(**{field: value})
    if opened_after:
        ros = ros.filter(opened_at__gte=opened_after)
    if opened_before:
        ros = ros.filter(opened_at__lt=opened_before)
    return ros


# --- equity mining: customers whose car says they may be ready to trade ----------------------------------

MINING_ROLES = (Role.SALESPERSON, Role.BDC_AGENT, Role.MANAGER)
CONTACT_KINDS = ("call", "text", "email")


def equity_mining(*, access: StaffAccess, rooftop_ids: list[int], trigger: str = "", model: str = "",
                  band: str = "", quiet_days: int | None = None, now: datetime | None = None) -> QuerySet:
    """Owned vehicles with at least one trade trigger at these stores (ones the user works), best opportunity first,
    with the customer's last contact and their open equity-mining lead, if any."""
    allowed = [r for r in rooftop_ids if access.has_role(r, *MINING_ROLES)]
    rows = (VehicleOpportunity.objects.for_rooftops(allowed).filter(score__gt=0)
            .select_related("customer", "vehicle", "rooftop"))
    if trigger:
        rows = rows.filter(trigger_kinds__contains=[trigger])
    if model:
        rows = rows.filter(Q(vehicle__model__icontains=model) | Q(vehicle__make__icontains=model))
    if band:
        rows = rows.filter(equity_band=band)
    last_contact = (TimelineEntry.unscoped.filter(customer_id=OuterRef("customer_id"), kind__in=CONTACT_KINDS)
                    .order_by("-occurred_at").values("occurred_at")[:1])
    mining_lead = (Lead.unscoped.filter(customer_id=OuterRef("customer_id"), rooftop_id=OuterRef("rooftop_id"),
                                        source=Lead.Source.EQUITY_MINING).order_by("-created_at"))
    rows = rows.annotate(last_contact_at=Subquery(last_contact), lead_id=Subquery(mining_lead.values("id")[:1]),
                         lead_status=Subquery(mining_lead.values("status")[:1]))
    if quiet_days:
        cutoff = (now or timezone.now()) - timedelta(days=quiet_days)
        rows = rows.filter(Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=cutoff))
    return rows.order_by("-score", "-id")
