"""The response clock: a lead's deadline, the beat sweep that acts on it, reroutes and escalation."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leads import routing
from leads.models import Lead, LeadClock, LeadNotification, LeadReroute, SalesRosterEntry
from rooftops.models import Availability
from leads.services.notices import lead_webhook, notify, routing_note
from leads.services.roster import display_name, load_candidates, managers, previous_owners, rooftop_business_hours, routing_rule_for

logger = logging.getLogger(__name__)


# A pool lead under a rule that assigns people is offered again this often while the store is open.
ASSIGN_RETRY = timedelta(seconds=30)


UNAVAILABLE_REASON = {
    Availability.WITH_CUSTOMER: "is with a customer and the lead is urgent",
    Availability.LUNCH: "went to lunch",
    Availability.OFF: "is off",
}


def give_lead(lead: Lead, user_id: int | None, now: datetime) -> None:
    """Point the lead at a person (or the pool) and remember when they last got one, for round robin.

    Every assignment goes through here (routing, reroute, escalation to the pool, a manager's choice, a claim), so
    this is where the `lead.assigned` webhook is emitted.
    """
    previous = lead.assigned_to_id
    lead.assigned_to_id = user_id
    fields = ["assigned_to"]
    if user_id is not None and lead.assigned_at is None:
        lead.assigned_at = now  # speed to lead counts the first assignment
        fields.append("assigned_at")
    lead.save(update_fields=fields)
    if user_id is not None:
        SalesRosterEntry.unscoped.filter(rooftop_id=lead.rooftop_id, user_id=user_id).update(last_assigned_at=now)
    if previous != user_id:
        lead_webhook(lead, "lead.assigned", now=now, previous_assigned_to_id=previous)


def clock_times(*, rule: routing.RoutingRule, hours: routing.BusinessHours, tz: str, now: datetime
                 ) -> tuple[datetime, datetime | None, datetime | None]:
    """(deadline, warn_at, opens_at) for a clock (re)started now; opens_at is None while the store is open."""
    window = routing.response_window(now, rule, hours, tz)
    return window.deadline_at, window.warn_at, window.opens_at


def _assign_retry_at(rule: routing.RoutingRule, hours: routing.BusinessHours, tz: str, now: datetime) -> datetime | None:
    if rule.mode == "pool":
        return None  # up for grabs by design: people claim it
    if routing.is_open(hours, tz, now):
        return now + ASSIGN_RETRY
    return routing.next_open(hours, tz, now)


def clock_start(*, lead: Lead, rule: routing.RoutingRule, hours: routing.BusinessHours, owner_id: int | None,
                 urgent: bool, now: datetime) -> LeadClock:
    deadline, warn_at, opens_at = clock_times(rule=rule, hours=hours, tz=lead.rooftop.time_zone, now=now)
    return LeadClock.unscoped.create(
        lead=lead, rooftop_id=lead.rooftop_id, owner_id=owner_id, urgent=urgent, started_at=now, deadline_at=deadline,
        warn_at=warn_at, opens_at=opens_at,
        assign_retry_at=None if owner_id else _assign_retry_at(rule, hours, lead.rooftop.time_zone, now),
    )


@dataclass
class SweepResult:
    warned: int = 0
    rerouted: int = 0
    escalated: int = 0
    assigned: int = 0
    failed: int = 0

    def count(self, action: str) -> None:
        if action in ("warned", "rerouted", "escalated", "assigned", "failed"):
            setattr(self, action, getattr(self, action) + 1)


def _clock_due(now: datetime) -> Q:
    return (
        Q(deadline_at__lte=now)
        | Q(warned_at__isnull=True, warn_at__lte=now)
        | Q(owner__isnull=True, assign_retry_at__lte=now)
    )


def lead_clocks_sweep(*, now: datetime | None = None, batch_size: int = 50) -> SweepResult:
    """Warn, reroute, assign from the pool or escalate every clock that is due; safe to run concurrently."""
    now = now or timezone.now()
    result = SweepResult()
    # Each clock is handled at most once per sweep: a 0-minute rule must not hop through everyone in one go.
    handled: list[int] = []
    while True:
        with transaction.atomic():
            clocks = list(
                LeadClock.unscoped.select_for_update(skip_locked=True, of=("self",))
                .filter(_clock_due(now), stopped_at__isnull=True)
                .exclude(pk__in=handled)
                .select_related("lead__rooftop", "lead__customer", "lead__vehicle")
                .order_by("deadline_at", "id")[:batch_size]
            )
            for clock in clocks:
                handled.append(clock.pk)
                try:
                    with transaction.atomic():
                        result.count(_clock_advance(clock, now))
                except Exception:
                    logger.exception("could not advance the response clock of lead %s", clock.lead_id)
                    result.failed += 1
        if len(clocks) < batch_size:
            return result


def _clock_advance(clock: LeadClock, now: datetime) -> str:
    """Apply the pure next step to one locked clock; returns what was done."""
    lead = clock.lead
    rooftop = lead.rooftop
    # Other pages (the customer page's quick actions) stamp the lead without going through this module:
    # an attempt or a status change recorded anywhere stops the clock instead of rerouting a lead in hand.
    if lead.first_attempt_at is not None:
        clock_stopped(clock, LeadClock.StopReason.HUMAN_ACTION, None, now)
        return "stopped"
    if lead.status != Lead.Status.NEW:
        clock_stopped(clock, LeadClock.StopReason.STATUS_CHANGE, None, now)
        return "stopped"
    rule = routing_rule_for(rooftop=rooftop, source=lead.source)
    hours = rooftop_business_hours(rooftop)
    if clock.owner_id is None and clock.assign_retry_at is not None and clock.assign_retry_at <= now \
            and clock.deadline_at > now:
        return _clock_try_assign(clock, lead, rule, hours, now)
    owner_name = display_name(clock.owner_id)
    state = routing.ClockState(deadline_at=clock.deadline_at, warned=clock.warned_at is not None, hops=clock.hops,
                               owner_name=owner_name or "the pool")
    step = routing.next_step(state, rule, now)
    if step.action == "warn":
        clock.warned_at = now
        clock.save(update_fields=["warned_at", "updated_at"])
        notify(user_ids=[clock.owner_id], lead=lead, kind=LeadNotification.Kind.WARN, now=now,
                text=f"{step.reason}: {lead.customer} ({lead.get_source_display().lower()})")
        return "warned"
    if step.action == "reroute":
        return _clock_reroute(clock, lead, rule, hours, now, reason=step.reason)
    if step.action == "escalate":
        return _clock_escalate(clock, lead, now, reason=step.reason)
    return "none"


def _clock_try_assign(clock: LeadClock, lead: Lead, rule: routing.RoutingRule, hours: routing.BusinessHours,
                      now: datetime) -> str:
    """Offer a pool lead to whoever may take it now (not a hop: nobody had it)."""
    tz = lead.rooftop.time_zone
    candidates = load_candidates(rooftop=lead.rooftop, now=now)
    decision = routing.choose_assignee(
        candidates, rule, previous_owner_id=None, exclude_ids=previous_owners(lead, clock),
        store_open=routing.is_open(hours, tz, now), urgent=clock.urgent,
    )
    if decision.staff_id is None:
        clock.assign_retry_at = _assign_retry_at(rule, hours, tz, now)
        clock.save(update_fields=["assign_retry_at", "updated_at"])
        return "none"
    name = next(c.label for c in candidates if c.staff_id == decision.staff_id)
    give_lead(lead, decision.staff_id, now)
    deadline, warn_at, opens_at = clock_times(rule=rule, hours=hours, tz=tz, now=now)
    clock.owner_id, clock.deadline_at, clock.warn_at, clock.warned_at = decision.staff_id, deadline, warn_at, None
    clock.assign_retry_at, clock.opens_at = None, opens_at
    clock.save(update_fields=["owner", "deadline_at", "warn_at", "warned_at", "assign_retry_at", "opens_at",
                              "updated_at"])
    routing_note(lead, f"Assigned to {name} from the pool: {decision.reason}", now, reason=decision.reason)
    notify(user_ids=[decision.staff_id], lead=lead, kind=LeadNotification.Kind.NEW_LEAD, now=now,
            text=f"New lead for you: {lead.customer} ({lead.get_source_display().lower()})")
    return "assigned"


def _clock_reroute(clock: LeadClock, lead: Lead, rule: routing.RoutingRule, hours: routing.BusinessHours,
                   now: datetime, *, reason: str, kind: str = LeadReroute.Kind.DEADLINE) -> str:
    """Move the lead to the next person by the same rules, never back to someone who had it."""
    tz = lead.rooftop.time_zone
    candidates = load_candidates(rooftop=lead.rooftop, now=now)
    decision = routing.choose_assignee(
        candidates, rule, previous_owner_id=None, exclude_ids=previous_owners(lead, clock),
        store_open=routing.is_open(hours, tz, now), urgent=clock.urgent,
    )
    new_name = next((c.label for c in candidates if c.staff_id == decision.staff_id), None)
    summary = f"{routing.Step('reroute', reason).rerouted_to(new_name).reason}. {decision.reason}"
    old_owner_id = clock.owner_id
    LeadReroute.unscoped.create(lead=lead, kind=kind,
                                from_user_id=old_owner_id, to_user_id=decision.staff_id, reason=summary[:500],
                                hop=clock.hops + 1, at=now)
    give_lead(lead, decision.staff_id, now)
    deadline, warn_at, opens_at = clock_times(rule=rule, hours=hours, tz=tz, now=now)
    clock.owner_id, clock.hops, clock.deadline_at = decision.staff_id, clock.hops + 1, deadline
    clock.warn_at, clock.warned_at, clock.opens_at = warn_at, None, opens_at
    clock.assign_retry_at = None if decision.staff_id else _assign_retry_at(rule, hours, tz, now)
    clock.save(update_fields=["owner", "hops", "deadline_at", "warn_at", "warned_at", "assign_retry_at", "opens_at",
                              "updated_at"])
    routing_note(lead, summary, now, kind=kind, hop=clock.hops, from_user=old_owner_id, to_user=decision.staff_id)
    who = f"{lead.customer} ({lead.get_source_display().lower()})"
    notify(user_ids=[old_owner_id], lead=lead, kind=LeadNotification.Kind.REROUTE, now=now,
            text=f"Lead taken from you: {who}. {summary}")
    notify(user_ids=[decision.staff_id], lead=lead, kind=LeadNotification.Kind.REROUTE, now=now,
            text=f"Rerouted lead for you: {who}. Respond before the clock runs out.")
    notify(user_ids=[m for m in managers(lead.rooftop) if m not in (old_owner_id, decision.staff_id)], lead=lead,
            kind=LeadNotification.Kind.REROUTE, now=now, text=f"Lead rerouted: {who}. {summary}")
    return "rerouted"


def _clock_escalate(clock: LeadClock, lead: Lead, now: datetime, *, reason: str) -> str:
    """Stop passing the lead around: the managers decide. The lead stays with its current owner meanwhile."""
    LeadReroute.unscoped.create(lead=lead, kind=LeadReroute.Kind.ESCALATE,
                                from_user_id=clock.owner_id, to_user_id=None, reason=reason[:500], hop=clock.hops, at=now)
    clock_stopped(clock, LeadClock.StopReason.ESCALATED, None, now)
    routing_note(lead, reason, now, kind="escalate", hop=clock.hops)
    who = f"{lead.customer} ({lead.get_source_display().lower()})"
    notify(user_ids=managers(lead.rooftop), lead=lead, kind=LeadNotification.Kind.ESCALATE, now=now,
            text=f"Needs a manager: {who}. {reason}")
    notify(user_ids=[clock.owner_id], lead=lead, kind=LeadNotification.Kind.ESCALATE, now=now,
            text=f"Escalated to your manager: {who}. {reason}")
    return "escalated"


def clock_stopped(clock: LeadClock, reason: str, by: User | None, now: datetime) -> None:
    clock.stopped_at, clock.stop_reason, clock.stopped_by = now, reason, by
    clock.save(update_fields=["stopped_at", "stop_reason", "stopped_by", "updated_at"])


def lock_lead(lead_id: int) -> tuple[Lead, LeadClock | None]:
    """Lock a lead's clock, then the lead: the one lock order every writer here uses."""
    clock = LeadClock.unscoped.select_for_update(of=("self",)).filter(lead_id=lead_id).first()
    lead = Lead.unscoped.select_for_update(of=("self",)).select_related("rooftop", "customer", "vehicle").get(pk=lead_id)
    return lead, clock


def lead_clocks_owner_unavailable(*, user_id: int, availability: str, now: datetime | None = None) -> int:
    """Someone stepped away: move their untouched leads on at once (only urgent ones when with a customer)."""
    if availability not in UNAVAILABLE_REASON:
        return 0
    now = now or timezone.now()
    clocks = LeadClock.unscoped.filter(owner_id=user_id, stopped_at__isnull=True)
    if availability == Availability.WITH_CUSTOMER:
        clocks = clocks.filter(urgent=True)
    moved = 0
    name = display_name(user_id)
    for clock_id in clocks.order_by("deadline_at").values_list("id", flat=True):
        with transaction.atomic():
            clock = (
                LeadClock.unscoped.select_for_update(skip_locked=True, of=("self",))
                .select_related("lead__rooftop", "lead__customer")
                .filter(pk=clock_id, owner_id=user_id, stopped_at__isnull=True).first()
            )
            if clock is None:
                continue  # the sweep or the person themselves got there first
            lead = clock.lead
            hours = rooftop_business_hours(lead.rooftop)
            if not routing.is_open(hours, lead.rooftop.time_zone, now):
                # Going off at closing time is normal, and a lead kept for the next shift must not be passed
                # around overnight: nobody else is there. Its deadline (counted from the opening) still holds.
                continue
            rule = routing_rule_for(rooftop=lead.rooftop, source=lead.source)
            why = f"{name} {UNAVAILABLE_REASON[availability]}"
            if clock.hops >= rule.max_hops:
                _clock_escalate(clock, lead, now, reason=f"{why}: escalated to a manager")
            else:
                _clock_reroute(clock, lead, rule, hours, now,
                               reason=f"{why}: rerouted from {name}", kind=LeadReroute.Kind.UNAVAILABLE)
            moved += 1
    return moved
