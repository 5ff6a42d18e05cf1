"""Reads for leads: my day, the leads list, a lead's speed to lead, percentiles for managers, the availability board.

Percentiles are computed by PostgreSQL (`percentile_cont ... WITHIN GROUP`) on the intervals themselves, so a
manager's page costs one grouped query however many leads the period holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.contrib.auth.models import User
from django.db.models import (
    Aggregate, BooleanField, Case, CharField, Count, DurationField, ExpressionWrapper, F, FloatField, OuterRef, Q, QuerySet, Subquery, Value,
    When,
)

from customers.models import Appointment, OutboundMessage, TimelineEntry
from leads.models import InventoryFeedRun, InventoryVehicle, Lead, LeadClock, LeadNotification, LeadReroute, LeadResponseTemplate, RoutingRule, SalesRosterEntry
from rooftops.models import Role, Rooftop, StaffRole
from rooftops.tenancy import StaffAccess, get_scoped_or_404

SPEED_STEPS: tuple[tuple[str, str, str], ...] = (
    # key, lead field, label
    ("assigned", "assigned_at", "Assigned"),
    ("response", "first_response_at", "First automated response"),
    ("attempt", "first_attempt_at", "First human attempt"),
    ("contact", "first_contact_at", "First contact"),
)


class PercentileCont(Aggregate):
    """percentile_cont(fraction) WITHIN GROUP (ORDER BY expression): an exact percentile of intervals in SQL."""

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


# --------------------------------------------------------------------------- one lead


@dataclass(frozen=True)
class SpeedStep:
    key: str
    label: str
    at: datetime | None
    after: timedelta | None  # since the lead was created


def speed_to_lead_steps(lead: Lead) -> list[SpeedStep]:
    """Created, assigned, first automated response, first human attempt, first contact, with times since created."""
    steps = [SpeedStep("created", "Created", lead.created_at, timedelta(0))]
    for key, field, label in SPEED_STEPS:
        at = getattr(lead, field)
        steps.append(SpeedStep(key, label, at, at - lead.created_at if at else None))
    return steps


def lead_timeline(lead: Lead, limit: int = 100) -> list[TimelineEntry]:
    """The lead's entries, newest first (the customer page shows every department's)."""
    return list(lead.timeline.select_related("actor__staff_profile").order_by("-occurred_at", "-id")[:limit])


@dataclass(frozen=True)
class VehicleOfInterest:
    title: str  # "2024 Toyota RAV4 XLE (stock T1004)" or, unmatched, what the provider described
    interest: str  # buy, lease, test-drive, ...
    inventory: InventoryVehicle | None


def lead_vehicles_of_interest(lead: Lead) -> list[VehicleOfInterest]:
    """Every vehicle the lead asked about, in the provider's order, matched to this rooftop's inventory."""
    from leads.adf import vehicle_from_record
    from leads.intake import vehicle_description

    records = [r for r in lead.vehicles_of_interest if isinstance(r, dict)]
    ids = [r["inventory_id"] for r in records if isinstance(r.get("inventory_id"), int)]
    stock = {v.pk: v for v in InventoryVehicle.objects.for_rooftops([lead.rooftop_id]).filter(pk__in=ids)}
    shown = []
    for record in records:
        wanted = vehicle_from_record(record)
        match = stock.get(record.get("inventory_id"))
        title = f"{match.title} (stock {match.stock_number})" if match else vehicle_description(wanted)
        shown.append(VehicleOfInterest(title=title or "a vehicle not described", interest=wanted.interest,
                                       inventory=match))
    return shown


def lead_messages(lead: Lead) -> list[OutboundMessage]:
    return list(lead.outbound_messages.order_by("created_at", "id"))


def lead_reroutes(lead: Lead) -> list[LeadReroute]:
    return list(lead.reroutes.select_related("from_user__staff_profile", "to_user__staff_profile").order_by("at", "id"))


# --------------------------------------------------------------------------- lists


def _intent_subqueries() -> tuple | None:
    """The shopper's best intent (score, level) from the alerts app when it keeps one; None otherwise."""
    try:
        model = apps.get_model("alerts", "ShopperIntent")
    except LookupError:
        return None
    names = {f.name for f in model._meta.get_fields()}
    if not {"customer", "score"} <= names:
        return None
    scores = model._base_manager.filter(customer=OuterRef("customer_id"))
    if "rooftop" in names:
        scores = scores.filter(rooftop=OuterRef("rooftop_id"))
    best = scores.order_by("-score")
    score = Subquery(best.values("score")[:1], output_field=FloatField())
    level = Subquery(best.values("level")[:1], output_field=CharField()) if "level" in names else None
    return score, level


def _with_urgency(leads: QuerySet, now: datetime) -> QuerySet:
    next_appointment = (
        Appointment.unscoped.filter(lead=OuterRef("pk"), status=Appointment.Status.SCHEDULED, scheduled_at__gte=now)
        .order_by("scheduled_at").values("scheduled_at")[:1]
    )
    intent = _intent_subqueries()
    score, level = intent if intent is not None else (None, None)
    return leads.annotate(
        deadline_at=Case(When(clock__stopped_at__isnull=True, then=F("clock__deadline_at")), default=None),
        next_appointment_at=Subquery(next_appointment),
        intent_score=score if score is not None else Value(None, output_field=FloatField()),
        intent_level=level if level is not None else Value("", output_field=CharField()),
    ).annotate(
        intent_hot=Case(When(intent_level="hot", then=Value(True)), default=Value(False), output_field=BooleanField()),
    )


def _urgency_order() -> list:
    # A hot shopper first (they are on the website now), then the clock closest to running out, then warmer
    # shoppers, then the next appointment: a cold intent score must not outrank a deadline two minutes away.
    return [F("intent_hot").desc(), F("deadline_at").asc(nulls_last=True), F("intent_score").desc(nulls_last=True),
            F("next_appointment_at").asc(nulls_last=True), "-created_at"]


MY_DAY_LIMIT = 200


def my_day_open_count(*, access: StaffAccess, user: User) -> int:
    return Lead.objects.for_access(access).filter(assigned_to=user, status__in=Lead.OPEN_STATUSES).count()


def my_day_leads(*, access: StaffAccess, user: User, now: datetime) -> list[Lead]:
    """The salesperson's open leads, most urgent first (the first MY_DAY_LIMIT; the leads list has the rest)."""
    leads = Lead.objects.for_access(access).filter(assigned_to=user, status__in=Lead.OPEN_STATUSES)
    leads = _with_urgency(leads.select_related("rooftop", "customer", "vehicle", "clock"), now)
    return list(leads.order_by(*_urgency_order())[:MY_DAY_LIMIT])


def pool_leads(*, access: StaffAccess, now: datetime) -> list[Lead]:
    """Open leads nobody has, at the rooftops where this person sells."""
    rooftop_ids = access.rooftops_with_role(Role.SALESPERSON, Role.MANAGER)
    leads = Lead.objects.for_rooftops(rooftop_ids).filter(assigned_to__isnull=True, status__in=Lead.OPEN_STATUSES)
    leads = _with_urgency(leads.select_related("rooftop", "customer", "vehicle", "clock"), now)
    return list(leads.order_by(*_urgency_order())[:50])


def notifications_for(*, user: User, limit: int = 15) -> list[LeadNotification]:
    return list(
        LeadNotification.unscoped.filter(user=user).select_related("lead__customer").order_by("-created_at", "-id")[:limit]
    )


def unread_notification_count(*, user: User) -> int:
    return LeadNotification.unscoped.filter(user=user, read_at__isnull=True).count()


@dataclass(frozen=True)
class LeadFilters:
    status: str = "open"  # "open", "all" or a status value
    source: str = ""
    owner: str = ""  # "", "me", "pool" or a user id
    rooftop_id: int | None = None
    q: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None


def leads_search(*, access: StaffAccess, user: User, filters: LeadFilters, now: datetime) -> QuerySet:
    """Leads this person may see, filtered; newest first."""
    leads = Lead.objects.for_access(access).select_related("rooftop", "customer", "vehicle", "assigned_to__staff_profile", "clock")
    if filters.status == "open":
        leads = leads.filter(status__in=Lead.OPEN_STATUSES)
    elif filters.status in Lead.Status.values:
        leads = leads.filter(status=filters.status)
    if filters.source:
        leads = leads.filter(source=filters.source)
    if filters.owner == "me":
        leads = leads.filter(assigned_to=user)
    elif filters.owner == "pool":
        leads = leads.filter(assigned_to__isnull=True)
    elif filters.owner.isdigit():
        leads = leads.filter(assigned_to_id=int(filters.owner))
    if filters.rooftop_id:
        leads = leads.filter(rooftop_id=filters.rooftop_id)
    if filters.created_after:
        leads = leads.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        leads = leads.filter(created_at__lt=filters.created_before)
    if filters.q:
        term = filters.q.strip()
        match = Q(customer__first_name__icontains=term) | Q(customer__last_name__icontains=term) \
            | Q(customer__emails__email__icontains=term) | Q(vehicle_description__icontains=term) \
            | Q(vehicle__model__icontains=term)
        digits = "".join(ch for ch in term if ch.isdigit())
        if len(digits) >= 4:
            match |= Q(customer__phones__e164__contains=digits)
        leads = leads.filter(match).distinct()
    return _with_urgency(leads, now).order_by("-created_at", "-id")


def inventory_search(*, access: StaffAccess, rooftop_id: int | None = None, q: str = "", make: str = "",
                     model: str = "", condition: str = "", status: str = "", price_min: int | None = None,
                     price_max: int | None = None, stock_number: str = "", vin: str = "") -> QuerySet:
    """Inventory at the user's rooftops, filtered (the staff API's search)."""
    vehicles = InventoryVehicle.objects.for_access(access)
    if rooftop_id:
        vehicles = vehicles.filter(rooftop_id=rooftop_id)
    if q.strip():
        term = q.strip()
        vehicles = vehicles.filter(Q(make__icontains=term) | Q(model__icontains=term) | Q(trim__icontains=term)
                                   | Q(stock_number__iexact=term) | Q(vin__iendswith=term))
    if make.strip():
        vehicles = vehicles.filter(make__iexact=make.strip())
    if model.strip():
        vehicles = vehicles.filter(model__iexact=model.strip())
    if condition:
        vehicles = vehicles.filter(condition=condition)
    if status:
        vehicles = vehicles.filter(status=status)
    if price_min is not None:
        vehicles = vehicles.filter(price_cents__gte=price_min)
    if price_max is not None:
        vehicles = vehicles.filter(price_cents__lte=price_max)
    if stock_number.strip():
        vehicles = vehicles.filter(stock_number__iexact=stock_number.strip())
    if vin.strip():
        vehicles = vehicles.filter(vin__iendswith=vin.strip())
    return vehicles.order_by("-id")


def salespeople_at(rooftop_ids) -> list[User]:
    return list(
        User.objects.filter(staff_roles__rooftop_id__in=list(rooftop_ids), staff_roles__role=Role.SALESPERSON)
        .select_related("staff_profile").distinct().order_by("staff_profile__display_name", "id")
    )


# --------------------------------------------------------------------------- manager views


@dataclass(frozen=True)
class SpeedRow:
    key: object
    label: str
    leads: int
    steps: dict  # step key -> {"p50": timedelta|None, "p90": timedelta|None, "n": int}


def speed_to_lead_percentiles(*, rooftop_ids, since: datetime, until: datetime, by: str) -> list[SpeedRow]:
    """Median and 90th percentile of each speed-to-lead step per rooftop, source or person, in one SQL query."""
    group = {
        "rooftop": ("rooftop_id", "rooftop__name"),
        "source": ("source",),
        "person": ("assigned_to_id", "assigned_to__staff_profile__display_name"),
    }[by]
    annotations = {"leads": Count("id")}
    for key, field, _label in SPEED_STEPS:
        delta = ExpressionWrapper(F(field) - F("created_at"), output_field=DurationField())
        annotations[f"{key}_p50"] = PercentileCont(delta, 0.5)
        annotations[f"{key}_p90"] = PercentileCont(delta, 0.9)
        annotations[f"{key}_n"] = Count(field)
    rows = (
        Lead.objects.for_rooftops(rooftop_ids).filter(created_at__gte=since, created_at__lt=until)
        .values(*group).annotate(**annotations).order_by(*group)
    )
    sources = dict(Lead.Source.choices)
    out = []
    for row in rows:
        if by == "rooftop":
            key, label = row["rooftop_id"], row["rooftop__name"]
        elif by == "source":
            key, label = row["source"], sources.get(row["source"], row["source"])
        else:
            key = row["assigned_to_id"]
            label = row["assigned_to__staff_profile__display_name"] or ("Pool (unassigned)" if key is None else f"#{key}")
        steps = {k: {"p50": row[f"{k}_p50"], "p90": row[f"{k}_p90"], "n": row[f"{k}_n"]} for k, _f, _l in SPEED_STEPS}
        out.append(SpeedRow(key, label, row["leads"], steps))
    return out


def reroute_counts(*, rooftop_ids, since: datetime, until: datetime) -> list[dict]:
    """Per person: how many leads were taken from them (rerouted) and escalated, for the manager's KPIs."""
    return list(
        LeadReroute.objects.for_rooftops(rooftop_ids).filter(at__gte=since, at__lt=until, from_user__isnull=False)
        .values("from_user_id", "from_user__staff_profile__display_name")
        .annotate(rerouted=Count("id", filter=Q(kind__in=LeadReroute.REROUTE_KINDS)),
                  escalated=Count("id", filter=Q(kind=LeadReroute.Kind.ESCALATE)))
        .order_by("-rerouted", "from_user__staff_profile__display_name")
    )


@dataclass
class BoardRow:
    user: User
    rooftop: Rooftop
    availability: str
    availability_label: str
    availability_since: datetime | None
    on_roster: bool
    weight: int
    open_leads: int
    clocks: list


def availability_board(*, access: StaffAccess) -> list[BoardRow]:
    """Each salesperson at the manager's rooftops: availability, open leads and running clocks."""
    rooftop_ids = access.rooftops_with_role(Role.MANAGER)
    roles = (StaffRole.objects.filter(rooftop_id__in=rooftop_ids, role=Role.SALESPERSON)
             .select_related("user__staff_profile", "rooftop").order_by("rooftop__name", "user__staff_profile__display_name"))
    roster = {(e.rooftop_id, e.user_id): e for e in SalesRosterEntry.objects.for_rooftops(rooftop_ids)}
    open_counts = {
        (r["rooftop_id"], r["assigned_to_id"]): r["n"]
        for r in Lead.objects.for_rooftops(rooftop_ids).filter(status__in=Lead.OPEN_STATUSES, assigned_to__isnull=False)
        .values("rooftop_id", "assigned_to_id").annotate(n=Count("id"))
    }
    clocks: dict[tuple[int, int], list] = {}
    for clock in (LeadClock.objects.for_rooftops(rooftop_ids).filter(stopped_at__isnull=True, owner__isnull=False)
                  .select_related("lead__customer").order_by("deadline_at")):
        clocks.setdefault((clock.rooftop_id, clock.owner_id), []).append(clock)
    rows = []
    for role in roles:
        profile = getattr(role.user, "staff_profile", None)
        entry = roster.get((role.rooftop_id, role.user_id))
        rows.append(BoardRow(
            user=role.user, rooftop=role.rooftop,
            availability=profile.availability if profile else "off",
            availability_label=profile.get_availability_display() if profile else "Off",
            availability_since=profile.availability_changed_at if profile else None,
            on_roster=(entry.active if entry else True) and role.user.is_active,
            weight=entry.weight if entry else 1,
            open_leads=open_counts.get((role.rooftop_id, role.user_id), 0),
            clocks=clocks.get((role.rooftop_id, role.user_id), []),
        ))
    return rows


def pool_clocks(*, access: StaffAccess) -> list[LeadClock]:
    """Running clocks of leads nobody has, at the manager's rooftops."""
    return list(
        LeadClock.objects.for_rooftops(access.rooftops_with_role(Role.MANAGER))
        .filter(stopped_at__isnull=True, owner__isnull=True).select_related("lead__customer", "rooftop")
        .order_by("deadline_at")
    )


def routing_settings(*, rooftop: Rooftop) -> dict:
    """Every source with its saved rule (or None), the roster and the templates of one rooftop."""
    rules = {r.source: r for r in RoutingRule.objects.for_rooftops([rooftop.pk]).select_related("named_owner__staff_profile")}
    people = salespeople_at([rooftop.pk])
    roster = {e.user_id: e for e in SalesRosterEntry.objects.for_rooftops([rooftop.pk])}
    return {
        "rules": [(value, label, rules.get(value)) for value, label in Lead.Source.choices],
        "roster": [(person, roster.get(person.pk)) for person in people],
        "salespeople": people,
    }


def response_templates_for(*, rooftop: Rooftop) -> dict[tuple[str, str], LeadResponseTemplate]:
    return {(t.source, t.channel): t for t in LeadResponseTemplate.objects.for_rooftops([rooftop.pk])}


# --- inventory feed runs (managers) ----------------------------------------------------------------------

def feed_runs(*, access: StaffAccess, rooftop_id: int) -> QuerySet:
    """A store's feed loads, newest first, for a manager of it (none for anyone else)."""
    if not access.has_role(rooftop_id, Role.MANAGER):
        return InventoryFeedRun.objects.for_rooftops([]).none()
    # The upload itself is not needed to show a run, and may be megabytes.
    return (InventoryFeedRun.objects.for_access(access).filter(rooftop_id=rooftop_id).defer("upload", "row_errors")
            .select_related("created_by").order_by("-created_at", "-id"))


def access_feed_run(*, access: StaffAccess, feed_run_id: int):
    """One feed load, for a manager of its store; anyone else (and a missing id) gets the same 404."""
    managed = sorted(access.rooftops_with_role(Role.MANAGER))
    return get_scoped_or_404(InventoryFeedRun.objects.filter(rooftop_id__in=managed).defer("upload")
                             .select_related("rooftop", "created_by"), access, id=feed_run_id)
