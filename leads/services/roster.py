"""Who can take a lead at a rooftop (roster, shifts, availability, shares) and the store's hours and rules."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Count

from customers.models import TimelineEntry
from leads import routing
from leads.models import Lead, LeadClock, LeadReroute, RoutingRule, SalesRosterEntry
from rooftops.models import Role, Rooftop, StaffRole

logger = logging.getLogger(__name__)


# Weighted shares are judged over the last month of leads, so a new hire is not flooded to "catch up".
SHARE_WINDOW = timedelta(days=30)


DEFAULT_RULE = routing.RoutingRule(mode="round_robin", response_minutes=15, warn_before_minutes=5, max_hops=2)


# With no business hours configured the store counts as always open (minus the last minute of the day,
# which BusinessHours cannot express): better a lead assigned at night than one never assigned.
ALWAYS_OPEN = routing.BusinessHours.from_dict({day: [["00:00", "23:59"]] for day in routing.DAY_KEYS})


def rooftop_service_hours(rooftop: Rooftop) -> routing.BusinessHours:
    """The service department's hours: its own where set (with the store's closed dates), else the store's."""
    if not rooftop.service_hours:
        return rooftop_business_hours(rooftop)
    closed = (rooftop.business_hours or {}).get("closed_dates", []) if isinstance(rooftop.business_hours, dict) else []
    try:
        data = dict(rooftop.service_hours)
        data["closed_dates"] = sorted({*data.get("closed_dates", []), *closed})
        return routing.BusinessHours.from_dict(data)
    except (ValueError, TypeError):
        logger.error("rooftop %s has unreadable service hours; using the store's", rooftop.pk, exc_info=True)
        return rooftop_business_hours(rooftop)


def rooftop_business_hours(rooftop: Rooftop) -> routing.BusinessHours:
    """The store's hours; always open when none are set or they cannot be read (logged)."""
    if not rooftop.business_hours:
        return ALWAYS_OPEN
    try:
        return routing.BusinessHours.from_dict(rooftop.business_hours)
    except ValueError:
        logger.error("rooftop %s has unreadable business hours; treating it as always open", rooftop.pk, exc_info=True)
        return ALWAYS_OPEN


def routing_rule_for(*, rooftop: Rooftop, source: str) -> routing.RoutingRule:
    """The rooftop's rule for a source as the pure module's dataclass (defaults when none is saved)."""
    row = RoutingRule.unscoped.filter(rooftop=rooftop, source=source).first()
    if row is None:
        return DEFAULT_RULE
    if row.mode == RoutingRule.Mode.NAMED_OWNER and row.named_owner_id is None:
        # The owner left (SET_NULL): round robin is the sensible fallback, not an exception at intake.
        return routing.RoutingRule(mode="round_robin", response_minutes=row.response_minutes,
                                   warn_before_minutes=row.warn_before_minutes, max_hops=row.max_hops,
                                   after_hours=row.after_hours)
    return routing.RoutingRule(
        mode=row.mode, named_owner_id=row.named_owner_id, response_minutes=row.response_minutes,
        warn_before_minutes=row.warn_before_minutes, max_hops=row.max_hops, after_hours=row.after_hours,
    )


def salespeople(rooftop: Rooftop) -> list[User]:
    return list(
        User.objects.filter(staff_roles__rooftop=rooftop, staff_roles__role=Role.SALESPERSON)
        .select_related("staff_profile").distinct().order_by("id")
    )


def _on_shift(entry: SalesRosterEntry | None, tz: str, now: datetime) -> bool:
    if entry is None or not entry.shift:
        return True
    try:
        return routing.is_open(routing.BusinessHours.from_dict(entry.shift), tz, now)
    except ValueError:
        logger.error("roster entry %s has an unreadable shift; treating them as off shift", entry.pk)
        return False


def load_candidates(*, rooftop: Rooftop, now: datetime, lock: bool = True,
                    on_shift_at: datetime | None = None) -> list[routing.Candidate]:
    """Everyone who sells at the rooftop, as the routing decision sees them.

    With `lock`, the rooftop's roster rows stay locked until commit: two leads arriving together must not
    both go to the person who has waited longest. `on_shift_at` judges shifts at another instant (the next
    opening, for a lead that arrives while the store is closed); by default at `now`.
    """
    people = salespeople(rooftop)
    SalesRosterEntry.unscoped.bulk_create(
        [SalesRosterEntry(rooftop=rooftop, user=person) for person in people], ignore_conflicts=True
    )
    entries = SalesRosterEntry.unscoped.filter(rooftop=rooftop)
    if lock:
        entries = entries.select_for_update()
    roster = {entry.user_id: entry for entry in entries.order_by("id")}
    counts = dict(
        Lead.unscoped.filter(rooftop=rooftop, assigned_to__in=[p.id for p in people], created_at__gte=now - SHARE_WINDOW)
        .values("assigned_to").annotate(n=Count("id")).values_list("assigned_to", "n")
    )
    candidates = []
    for person in people:
        entry = roster.get(person.id)
        profile = getattr(person, "staff_profile", None)
        candidates.append(routing.Candidate(
            staff_id=person.id,
            availability=profile.availability if profile else "off",
            is_active=person.is_active and (entry.active if entry else True),
            on_shift=_on_shift(entry, rooftop.time_zone, on_shift_at or now),
            weight=entry.weight if entry else 1,
            assigned_count=counts.get(person.id, 0),
            last_assigned_at=entry.last_assigned_at if entry else None,
            name=profile.display_name if profile else person.get_username(),
        ))
    return candidates


def display_name(user_id: int | None) -> str:
    if user_id is None:
        return ""
    user = User.objects.select_related("staff_profile").filter(pk=user_id).first()
    if user is None:
        return f"staff #{user_id}"
    profile = getattr(user, "staff_profile", None)
    return profile.display_name if profile else user.get_username()


def managers(rooftop: Rooftop) -> list[int]:
    return list(StaffRole.objects.filter(rooftop=rooftop, role=Role.MANAGER).values_list("user_id", flat=True).distinct())


def previous_owners(lead: Lead, clock: LeadClock | None) -> frozenset[int]:
    owners = set(LeadReroute.unscoped.filter(lead=lead, from_user__isnull=False).values_list("from_user_id", flat=True))
    if clock is not None and clock.owner_id:
        owners.add(clock.owner_id)
    return frozenset(owners)


def department_of(user: User | None, rooftop_id: int) -> str:
    if user is None:
        return TimelineEntry.Department.SALES
    roles = set(StaffRole.objects.filter(user=user, rooftop_id=rooftop_id).values_list("role", flat=True))
    if Role.BDC_AGENT in roles and Role.SALESPERSON not in roles:
        return TimelineEntry.Department.BDC
    return TimelineEntry.Department.SALES


def name_of(user: User | None) -> str:
    if user is None:
        return "the system"
    profile = getattr(user, "staff_profile", None)
    return profile.display_name if profile else user.get_username()
