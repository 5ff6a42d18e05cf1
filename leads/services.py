"""Writes for leads: intake, assignment, the response clock and what staff log against a lead.

Decisions (who gets a lead, when the clock runs out, what to do then) are made by the pure `leads.routing`;
this module loads what those functions need, applies their answer and records it. Side effects (the first
response, live notifications) leave only after commit.

Locks are always taken in one order, clock -> lead -> sales roster, so the beat sweep, a salesperson logging a
call and a manager reassigning can meet on one lead without deadlocking. The sweep takes clocks with
`SKIP LOCKED`, so two sweeps (or a sweep and a human) never act on one clock at once, and every transition
re-checks the clock's state under its lock: a reroute happens once however often the sweep runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from crm.handoff import hand_off
from customers.contact import InvalidContact, normalize_email, normalize_phone
from customers.matching import ArrivingContact, customer_match_or_create
from customers.messaging import outbound_message_queue
from customers.models import (
    ConsentRecord, OutboundMessage, TimelineEntry,
)
from leads import response_templates, routing
from leads.models import (
    InventoryVehicle, Lead, LeadClock, LeadNotification, LeadReroute, LeadResponseTemplate, LeadStatusChange,
    RoutingRule, SalesRosterEntry,
)
from rooftops.models import Availability, Role, Rooftop, StaffRole

logger = logging.getLogger(__name__)

AUTO_RESPONSE_SOURCES = frozenset({Lead.Source.WEB_FORM, Lead.Source.ADF, Lead.Source.CHAT})
# A pool lead under a rule that assigns people is offered again this often while the store is open.
ASSIGN_RETRY = timedelta(seconds=30)
# Weighted shares are judged over the last month of leads, so a new hire is not flooded to "catch up".
SHARE_WINDOW = timedelta(days=30)
DEFAULT_RULE = routing.RoutingRule(mode="round_robin", response_minutes=15, warn_before_minutes=5, max_hops=2)
# With no business hours configured the store counts as always open (minus the last minute of the day,
# which BusinessHours cannot express): better a lead assigned at night than one never assigned.
ALWAYS_OPEN = routing.BusinessHours.from_dict({day: [["00:00", "23:59"]] for day in routing.DAY_KEYS})
ACTIVITY_KINDS = {
    "call": TimelineEntry.Kind.CALL,
    "text": TimelineEntry.Kind.TEXT,
    "email": TimelineEntry.Kind.EMAIL,
    "note": TimelineEntry.Kind.NOTE,
}
UNAVAILABLE_REASON = {
    Availability.WITH_CUSTOMER: "is with a customer and the lead is urgent",
    Availability.LUNCH: "went to lunch",
    Availability.OFF: "is off",
}


class LeadError(ValueError):
    """A request about a lead that cannot be done; the message is shown to the person as is."""


# --------------------------------------------------------------------------- loading for decisions


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


def _salespeople(rooftop: Rooftop) -> list[User]:
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
    people = _salespeople(rooftop)
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


def _display_name(user_id: int | None) -> str:
    if user_id is None:
        return ""
    user = User.objects.select_related("staff_profile").filter(pk=user_id).first()
    if user is None:
        return f"staff #{user_id}"
    profile = getattr(user, "staff_profile", None)
    return profile.display_name if profile else user.get_username()


def _managers(rooftop: Rooftop) -> list[int]:
    return list(StaffRole.objects.filter(rooftop=rooftop, role=Role.MANAGER).values_list("user_id", flat=True).distinct())


def _previous_owners(lead: Lead, clock: LeadClock | None) -> frozenset[int]:
    owners = set(LeadReroute.unscoped.filter(lead=lead, from_user__isnull=False).values_list("from_user_id", flat=True))
    if clock is not None and clock.owner_id:
        owners.add(clock.owner_id)
    return frozenset(owners)


# --------------------------------------------------------------------------- notifications


def _notify(*, user_ids: Iterable[int | None], lead: Lead, kind: str, text: str, now: datetime) -> None:
    """A notification row per person, pushed live to their `user-<id>` group after commit."""
    rows = [
        LeadNotification(user_id=uid, rooftop_id=lead.rooftop_id, lead=lead, kind=kind, text=text[:500], created_at=now)
        for uid in dict.fromkeys(u for u in user_ids if u)
    ]
    if not rows:
        return
    LeadNotification.unscoped.bulk_create(rows)
    url = reverse("lead-detail", args=[lead.pk])
    payloads = [
        (row.user_id, {"type": "notify", "kind": kind, "lead_id": lead.pk, "rooftop_id": lead.rooftop_id,
                       "notification_id": row.pk, "text": row.text, "url": url, "at": now.isoformat()})
        for row in rows
    ]
    transaction.on_commit(lambda: _push(payloads))


def _push(payloads: list[tuple[int, dict]]) -> None:
    from channels.layers import get_channel_layer

    # Looked up here, not on the hand-off thread: channels builds its layer lazily without a lock, and two
    # threads building it at once would leave two layers (and channels one of them cannot read).
    layer = get_channel_layer()
    if layer is None:
        return
    # On the hand-off thread: the request that stored the lead never waits on the channel layer.
    hand_off(lambda: _group_send(layer, payloads), what=f"{len(payloads)} lead notification(s)")


PUSH_TIMEOUT_SECONDS = 2.0


def _group_send(layer, payloads: list[tuple[int, dict]]) -> None:
    """Push each notice; raises when the channel layer does not answer (the row is saved and shown on the page)."""

    async def send_all() -> None:
        for user_id, payload in payloads:
            await asyncio.wait_for(layer.group_send(f"user-{user_id}", payload), PUSH_TIMEOUT_SECONDS)

    async_to_sync(send_all)()


# --------------------------------------------------------------------------- timeline helpers


def _timeline(lead: Lead, *, kind: str, summary: str, now: datetime, actor: User | None = None, body: str = "",
              department: str = TimelineEntry.Department.SALES, direction: str = "", detail: dict | None = None) -> None:
    TimelineEntry.unscoped.create(
        customer_id=lead.customer_id, rooftop_id=lead.rooftop_id, lead=lead, department=department, kind=kind,
        occurred_at=now, summary=summary[:500], body=body, direction=direction, detail=detail or {}, actor=actor,
    )


def _routing_note(lead: Lead, summary: str, now: datetime, **detail) -> None:
    _timeline(lead, kind=TimelineEntry.Kind.ROUTING, summary=summary, now=now,
              department=TimelineEntry.Department.SYSTEM, detail=detail)


# --------------------------------------------------------------------------- intake


@dataclass(frozen=True)
class LeadCreateResult:
    lead: Lead
    created: bool
    warnings: tuple[str, ...] = field(default=())


def lead_create(
    *,
    rooftop: Rooftop,
    source: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    phone: str = "",
    vehicle: InventoryVehicle | None = None,
    vehicle_description: str = "",
    provider: str = "",
    comments: str = "",
    trade_in: dict | None = None,
    dedupe_key: str = "",
    raw_adf: str = "",
    sms_consent_text: str = "",
    consent_source: str = "",
    urgent: bool = False,
    created_by: User | None = None,
    now: datetime | None = None,
) -> LeadCreateResult:
    """The one way any intake makes a lead: customer, timeline, assignment, response clock, first response."""
    now = now or timezone.now()
    if source not in Lead.Source.values:
        raise LeadError(f"Unknown lead source {source!r}; use one of {', '.join(Lead.Source.values)}")
    if vehicle is not None and vehicle.rooftop_id != rooftop.pk:
        raise LeadError("That vehicle belongs to another store")
    warnings: list[str] = []
    raw_email, email = email.strip(), ""
    if raw_email:
        try:
            email = normalize_email(raw_email)
        except InvalidContact:
            warnings.append(f"Ignored an invalid email address: {raw_email!r}")
    raw_phone, phone = phone.strip(), ""
    if raw_phone:
        try:
            phone = normalize_phone(raw_phone, region=rooftop_region(rooftop))
        except InvalidContact:
            warnings.append(f"Ignored an invalid phone number: {raw_phone!r}")
    if not (email or phone or first_name.strip() or last_name.strip()):
        raise LeadError("A lead needs at least a name, an email address or a phone number")
    dedupe_key = dedupe_key[:128]
    if dedupe_key:
        existing = Lead.unscoped.filter(rooftop=rooftop, dedupe_key=dedupe_key).first()
        if existing is not None:
            return LeadCreateResult(existing, False, tuple(warnings))
    try:
        with transaction.atomic():
            lead = _lead_create(
                rooftop=rooftop, source=source, first_name=first_name.strip(), last_name=last_name.strip(),
                email=email, phone=phone, vehicle=vehicle, vehicle_description=vehicle_description[:200],
                provider=provider[:100], comments=comments, trade_in=trade_in or {}, dedupe_key=dedupe_key,
                raw_adf=raw_adf, sms_consent_text=sms_consent_text, consent_source=consent_source, urgent=urgent,
                created_by=created_by, now=now,
            )
    except IntegrityError:
        # The same lead delivered twice at the same moment: the other delivery won.
        existing = Lead.unscoped.filter(rooftop=rooftop, dedupe_key=dedupe_key).first() if dedupe_key else None
        if existing is None:
            raise
        return LeadCreateResult(existing, False, tuple(warnings))
    return LeadCreateResult(lead, True, tuple(warnings))


def rooftop_region(rooftop: Rooftop) -> str:
    """Region for reading local phone numbers; the demo and first customers are North American."""
    return "US"


def _lead_create(*, rooftop: Rooftop, source: str, first_name: str, last_name: str, email: str, phone: str,
                 vehicle: InventoryVehicle | None, vehicle_description: str, provider: str, comments: str,
                 trade_in: dict, dedupe_key: str, raw_adf: str, sms_consent_text: str, consent_source: str,
                 urgent: bool, created_by: User | None, now: datetime) -> Lead:
    customer = customer_match_or_create(
        rooftop=rooftop, source=source, at=now,
        contact=ArrivingContact(first_name=first_name, last_name=last_name, emails=(email,) if email else (),
                                phones=((phone, "mobile"),) if phone else ()),
    ).customer
    previous_owner_id = (
        Lead.unscoped.filter(rooftop=rooftop, customer=customer, assigned_to__isnull=False)
        .order_by("-created_at").values_list("assigned_to_id", flat=True).first()
    )
    lead = Lead.unscoped.create(
        rooftop=rooftop, customer=customer, source=source, provider=provider, vehicle=vehicle,
        vehicle_description=vehicle_description, trade_in=trade_in, comments=comments, created_at=now,
        dedupe_key=dedupe_key, raw_adf=raw_adf, status_changed_at=now,
    )
    if phone and sms_consent_text.strip():
        ConsentRecord.objects.create(
            customer=customer, dealer_group_id=rooftop.dealer_group_id, channel=ConsentRecord.Channel.SMS,
            purpose=ConsentRecord.Purpose.TRANSACTIONAL, granted=True, text_shown=sms_consent_text.strip(),
            source=(consent_source or lead.get_source_display())[:100], recorded_at=now, recorded_by=created_by,
        )
    what = vehicle.title if vehicle else (vehicle_description or "no vehicle named")
    stock = f" (stock {vehicle.stock_number})" if vehicle else ""
    from_provider = f" from {provider}" if provider else ""
    _timeline(lead, kind=TimelineEntry.Kind.LEAD, now=now, actor=created_by, body=comments,
              summary=f"New {lead.get_source_display().lower()} lead{from_provider}: {what}{stock}",
              department=TimelineEntry.Department.WEB if source in AUTO_RESPONSE_SOURCES else TimelineEntry.Department.SALES)
    _lead_route(lead=lead, previous_owner_id=previous_owner_id, urgent=urgent, now=now)
    return lead


def lead_start_routing(*, lead: Lead, urgent: bool = False, now: datetime | None = None) -> bool:
    """Route a lead another intake already wrote (owner, clock, first response); False if it was routed before.

    For intakes that make their own Lead row (the website forms in tracking): one call after creating it,
    in the same transaction. Beat's sweep also adopts unrouted new leads, so a forgotten call costs seconds.
    """
    now = now or timezone.now()
    with transaction.atomic():
        lead = Lead.unscoped.select_for_update(of=("self",)).select_related("rooftop", "customer", "vehicle") \
            .get(pk=lead.pk)
        if lead.assigned_to_id is not None or LeadClock.unscoped.filter(lead=lead).exists():
            return False
        previous_owner_id = (
            Lead.unscoped.filter(rooftop=lead.rooftop, customer=lead.customer, assigned_to__isnull=False)
            .exclude(pk=lead.pk).order_by("-created_at").values_list("assigned_to_id", flat=True).first()
        )
        _lead_route(lead=lead, previous_owner_id=previous_owner_id, urgent=urgent, now=now)
    return True


def _lead_route(*, lead: Lead, previous_owner_id: int | None, urgent: bool, now: datetime) -> None:
    """Assign a new lead through the rooftop's rule, start its clock and queue its first response."""
    rooftop = lead.rooftop
    rule = routing_rule_for(rooftop=rooftop, source=lead.source)
    hours = rooftop_business_hours(rooftop)
    urgent = urgent or rule.response_minutes == 0
    tz = rooftop.time_zone
    if routing.is_open(hours, tz, now):
        opens_at = None
        candidates = load_candidates(rooftop=rooftop, now=now)
        decision = routing.choose_assignee(
            candidates, rule, previous_owner_id=previous_owner_id, exclude_ids=frozenset(), store_open=True,
            urgent=urgent,
        )
    else:
        # Assigned now, to whoever works when the doors open: the lead is theirs at the top of My day at
        # opening, and its clock counts from then.
        opens_at = routing.next_open(hours, tz, now)
        candidates = load_candidates(rooftop=rooftop, now=now, on_shift_at=opens_at)
        decision = routing.choose_after_hours(
            candidates, rule, opens_at=opens_at, tz=tz, previous_owner_id=previous_owner_id,
            exclude_ids=frozenset(),
        )
    names = {c.staff_id: c.label for c in candidates}
    if decision.staff_id is not None:
        _give_lead(lead, decision.staff_id, now)
        _routing_note(lead, f"Assigned to {names[decision.staff_id]}: {decision.reason}", now, reason=decision.reason)
        vehicle = _vehicle_phrase(lead)
        about = f" about the {vehicle}" if vehicle else ""
        when = ""
        if opens_at is not None:
            when = f" (for when the store opens, {timezone.localtime(opens_at, ZoneInfo(tz)):%a %-I:%M %p})"
        _notify(user_ids=[decision.staff_id], lead=lead, kind=LeadNotification.Kind.NEW_LEAD, now=now,
                text=f"New {lead.get_source_display().lower()} lead: {lead.customer}{about}{when}")
    else:
        _routing_note(lead, decision.reason, now, reason=decision.reason)
    _clock_start(lead=lead, rule=rule, hours=hours, owner_id=decision.staff_id, urgent=urgent, now=now)
    if lead.source in AUTO_RESPONSE_SOURCES:
        lead_first_response_queue(lead=lead, now=now)


def lead_route_new(*, lead_id: int, now: datetime | None = None) -> bool:
    """After-commit hook for intakes that write their own Lead (leads.intake for ADF). Never raises: a lead
    that could not be routed here is adopted by beat's sweep within seconds."""
    try:
        return lead_start_routing(lead=Lead(pk=lead_id), now=now)
    except Exception:
        logger.exception("could not route lead %s now; the sweep will", lead_id)
        return False


# Leads written by other intakes are adopted by the sweep only while they are fresh: an old unassigned lead
# is a manager's decision, not a new inquiry to route.
ADOPT_WINDOW = timedelta(hours=2)


def leads_adopt_unrouted(*, now: datetime, limit: int = 100) -> int:
    """Route new leads that an intake wrote without routing them (no owner, no clock, recent)."""
    ids = list(
        Lead.unscoped.filter(status=Lead.Status.NEW, assigned_to__isnull=True, clock__isnull=True,
                             created_at__gte=now - ADOPT_WINDOW, created_at__lte=now)
        .order_by("created_at").values_list("id", flat=True)[:limit]
    )
    adopted = 0
    for lead_id in ids:
        try:
            adopted += lead_start_routing(lead=Lead(pk=lead_id), now=now)
        except Exception:
            logger.exception("could not route lead %s", lead_id)
    return adopted


def _give_lead(lead: Lead, user_id: int | None, now: datetime) -> None:
    """Point the lead at a person (or the pool) and remember when they last got one, for round robin."""
    lead.assigned_to_id = user_id
    fields = ["assigned_to"]
    if user_id is not None and lead.assigned_at is None:
        lead.assigned_at = now  # speed to lead counts the first assignment
        fields.append("assigned_at")
    lead.save(update_fields=fields)
    if user_id is not None:
        SalesRosterEntry.unscoped.filter(rooftop_id=lead.rooftop_id, user_id=user_id).update(last_assigned_at=now)


def _clock_times(*, rule: routing.RoutingRule, hours: routing.BusinessHours, tz: str, now: datetime
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


def _clock_start(*, lead: Lead, rule: routing.RoutingRule, hours: routing.BusinessHours, owner_id: int | None,
                 urgent: bool, now: datetime) -> LeadClock:
    deadline, warn_at, opens_at = _clock_times(rule=rule, hours=hours, tz=lead.rooftop.time_zone, now=now)
    return LeadClock.unscoped.create(
        lead=lead, rooftop_id=lead.rooftop_id, owner_id=owner_id, urgent=urgent, started_at=now, deadline_at=deadline,
        warn_at=warn_at, opens_at=opens_at,
        assign_retry_at=None if owner_id else _assign_retry_at(rule, hours, lead.rooftop.time_zone, now),
    )


# --------------------------------------------------------------------------- first response


def _vehicle_phrase(lead: Lead) -> str:
    return lead.vehicle.title if lead.vehicle_id else lead.vehicle_description


def response_context(*, lead: Lead, now: datetime, rule: routing.RoutingRule | None = None) -> response_templates.ResponseContext:
    """What the first response may say about this lead, now."""
    rooftop = lead.rooftop
    rule = rule or routing_rule_for(rooftop=rooftop, source=lead.source)
    hours = rooftop_business_hours(rooftop)
    window = routing.response_window(now, rule, hours, rooftop.time_zone)
    store_open = window.opens_at is None
    return response_templates.ResponseContext(
        customer_first_name=lead.customer.first_name,
        vehicle=_vehicle_phrase(lead),
        salesperson=_display_name(lead.assigned_to_id) or "our team",
        rooftop=rooftop.name,
        rooftop_phone=rooftop.phone,
        response_minutes=rule.response_minutes,
        store_open=store_open,
        next_open_at=window.opens_at,
        time_zone=rooftop.time_zone,
        now=now,
        reply_due_at=window.deadline_at,
    )


def response_template_texts(*, rooftop: Rooftop, source: str, channel: str) -> tuple[str, str] | None:
    """(subject, body) the rooftop uses for a source and channel: its own, the default, or None when turned off."""
    row = LeadResponseTemplate.unscoped.filter(rooftop=rooftop, source=source, channel=channel).first()
    if row is not None:
        return (row.subject, row.body) if row.active else None
    if channel == LeadResponseTemplate.Channel.EMAIL:
        return response_templates.DEFAULT_EMAIL_SUBJECT, response_templates.DEFAULT_EMAIL_BODY
    return "", response_templates.DEFAULT_SMS_BODY


def lead_first_response_queue(*, lead: Lead, now: datetime) -> list[OutboundMessage]:
    """Queue the automated email and text for a new lead (sent after commit; the text only with consent)."""
    context = response_context(lead=lead, now=now)
    customer = lead.customer
    queued = []
    email = customer.emails.order_by("-is_primary", "id").values_list("email", flat=True).first()
    phone = customer.phones.order_by("-is_primary", "id").values_list("e164", flat=True).first()
    for channel, address in ((OutboundMessage.Channel.EMAIL, email), (OutboundMessage.Channel.SMS, phone)):
        texts = response_template_texts(rooftop=lead.rooftop, source=lead.source, channel=channel)
        if not address or texts is None:
            continue
        subject, body = texts
        queued.append(outbound_message_queue(
            customer=customer, rooftop=lead.rooftop, lead=lead, channel=channel,
            kind=OutboundMessage.Kind.FIRST_RESPONSE, to_address=address, now=now,
            subject=response_templates.render(subject, context) if subject else "",
            body=response_templates.render(body, context),
            idempotency_key=f"first-response:{lead.pk}:{channel}",
        ))
    return queued


# --------------------------------------------------------------------------- the response clock


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
        _clock_stopped(clock, LeadClock.StopReason.HUMAN_ACTION, None, now)
        return "stopped"
    if lead.status != Lead.Status.NEW:
        _clock_stopped(clock, LeadClock.StopReason.STATUS_CHANGE, None, now)
        return "stopped"
    rule = routing_rule_for(rooftop=rooftop, source=lead.source)
    hours = rooftop_business_hours(rooftop)
    if clock.owner_id is None and clock.assign_retry_at is not None and clock.assign_retry_at <= now \
            and clock.deadline_at > now:
        return _clock_try_assign(clock, lead, rule, hours, now)
    owner_name = _display_name(clock.owner_id)
    state = routing.ClockState(deadline_at=clock.deadline_at, warned=clock.warned_at is not None, hops=clock.hops,
                               owner_name=owner_name or "the pool")
    step = routing.next_step(state, rule, now)
    if step.action == "warn":
        clock.warned_at = now
        clock.save(update_fields=["warned_at", "updated_at"])
        _notify(user_ids=[clock.owner_id], lead=lead, kind=LeadNotification.Kind.WARN, now=now,
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
        candidates, rule, previous_owner_id=None, exclude_ids=_previous_owners(lead, clock),
        store_open=routing.is_open(hours, tz, now), urgent=clock.urgent,
    )
    if decision.staff_id is None:
        clock.assign_retry_at = _assign_retry_at(rule, hours, tz, now)
        clock.save(update_fields=["assign_retry_at", "updated_at"])
        return "none"
    name = next(c.label for c in candidates if c.staff_id == decision.staff_id)
    _give_lead(lead, decision.staff_id, now)
    deadline, warn_at, opens_at = _clock_times(rule=rule, hours=hours, tz=tz, now=now)
    clock.owner_id, clock.deadline_at, clock.warn_at, clock.warned_at = decision.staff_id, deadline, warn_at, None
    clock.assign_retry_at, clock.opens_at = None, opens_at
    clock.save(update_fields=["owner", "deadline_at", "warn_at", "warned_at", "assign_retry_at", "opens_at",
                              "updated_at"])
    _routing_note(lead, f"Assigned to {name} from the pool: {decision.reason}", now, reason=decision.reason)
    _notify(user_ids=[decision.staff_id], lead=lead, kind=LeadNotification.Kind.NEW_LEAD, now=now,
            text=f"New lead for you: {lead.customer} ({lead.get_source_display().lower()})")
    return "assigned"


def _clock_reroute(clock: LeadClock, lead: Lead, rule: routing.RoutingRule, hours: routing.BusinessHours,
                   now: datetime, *, reason: str, kind: str = LeadReroute.Kind.DEADLINE) -> str:
    """Move the lead to the next person by the same rules, never back to someone who had it."""
    tz = lead.rooftop.time_zone
    candidates = load_candidates(rooftop=lead.rooftop, now=now)
    decision = routing.choose_assignee(
        candidates, rule, previous_owner_id=None, exclude_ids=_previous_owners(lead, clock),
        store_open=routing.is_open(hours, tz, now), urgent=clock.urgent,
    )
    new_name = next((c.label for c in candidates if c.staff_id == decision.staff_id), None)
    summary = f"{routing.Step('reroute', reason).rerouted_to(new_name).reason}. {decision.reason}"
    old_owner_id = clock.owner_id
    LeadReroute.unscoped.create(lead=lead, kind=kind,
                                from_user_id=old_owner_id, to_user_id=decision.staff_id, reason=summary[:500],
                                hop=clock.hops + 1, at=now)
    _give_lead(lead, decision.staff_id, now)
    deadline, warn_at, opens_at = _clock_times(rule=rule, hours=hours, tz=tz, now=now)
    clock.owner_id, clock.hops, clock.deadline_at = decision.staff_id, clock.hops + 1, deadline
    clock.warn_at, clock.warned_at, clock.opens_at = warn_at, None, opens_at
    clock.assign_retry_at = None if decision.staff_id else _assign_retry_at(rule, hours, tz, now)
    clock.save(update_fields=["owner", "hops", "deadline_at", "warn_at", "warned_at", "assign_retry_at", "opens_at",
                              "updated_at"])
    _routing_note(lead, summary, now, kind=kind, hop=clock.hops, from_user=old_owner_id, to_user=decision.staff_id)
    who = f"{lead.customer} ({lead.get_source_display().lower()})"
    _notify(user_ids=[old_owner_id], lead=lead, kind=LeadNotification.Kind.REROUTE, now=now,
            text=f"Lead taken from you: {who}. {summary}")
    _notify(user_ids=[decision.staff_id], lead=lead, kind=LeadNotification.Kind.REROUTE, now=now,
            text=f"Rerouted lead for you: {who}. Respond before the clock runs out.")
    _notify(user_ids=[m for m in _managers(lead.rooftop) if m not in (old_owner_id, decision.staff_id)], lead=lead,
            kind=LeadNotification.Kind.REROUTE, now=now, text=f"Lead rerouted: {who}. {summary}")
    return "rerouted"


def _clock_escalate(clock: LeadClock, lead: Lead, now: datetime, *, reason: str) -> str:
    """Stop passing the lead around: the managers decide. The lead stays with its current owner meanwhile."""
    LeadReroute.unscoped.create(lead=lead, kind=LeadReroute.Kind.ESCALATE,
                                from_user_id=clock.owner_id, to_user_id=None, reason=reason[:500], hop=clock.hops, at=now)
    _clock_stopped(clock, LeadClock.StopReason.ESCALATED, None, now)
    _routing_note(lead, reason, now, kind="escalate", hop=clock.hops)
    who = f"{lead.customer} ({lead.get_source_display().lower()})"
    _notify(user_ids=_managers(lead.rooftop), lead=lead, kind=LeadNotification.Kind.ESCALATE, now=now,
            text=f"Needs a manager: {who}. {reason}")
    _notify(user_ids=[clock.owner_id], lead=lead, kind=LeadNotification.Kind.ESCALATE, now=now,
            text=f"Escalated to your manager: {who}. {reason}")
    return "escalated"


def _clock_stopped(clock: LeadClock, reason: str, by: User | None, now: datetime) -> None:
    clock.stopped_at, clock.stop_reason, clock.stopped_by = now, reason, by
    clock.save(update_fields=["stopped_at", "stop_reason", "stopped_by", "updated_at"])


def _lock_lead(lead_id: int) -> tuple[Lead, LeadClock | None]:
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
    name = _display_name(user_id)
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


# --------------------------------------------------------------------------- what staff do


def _department_of(user: User | None, rooftop_id: int) -> str:
    if user is None:
        return TimelineEntry.Department.SALES
    roles = set(StaffRole.objects.filter(user=user, rooftop_id=rooftop_id).values_list("role", flat=True))
    if Role.BDC_AGENT in roles and Role.SALESPERSON not in roles:
        return TimelineEntry.Department.BDC
    return TimelineEntry.Department.SALES


def _name_of(user: User | None) -> str:
    if user is None:
        return "the system"
    profile = getattr(user, "staff_profile", None)
    return profile.display_name if profile else user.get_username()


def _status_change(lead: Lead, *, to_status: str, by: User | None, reason: str, now: datetime) -> None:
    old = lead.status
    lead.status, lead.status_changed_at = to_status, now
    fields = ["status", "status_changed_at"]
    if to_status == Lead.Status.SOLD and lead.sold_at is None:
        lead.sold_at = now
        fields.append("sold_at")
    if to_status == Lead.Status.LOST:
        lead.lost_reason = reason[:200]
        fields.append("lost_reason")
    elif lead.lost_reason:
        lead.lost_reason = ""
        fields.append("lost_reason")
    lead.save(update_fields=fields)
    LeadStatusChange.objects.create(lead=lead, from_status=old, to_status=to_status, reason=reason[:200],
                                    changed_by=by, changed_at=now)
    summary = f"Status: {Lead.Status(old).label} → {Lead.Status(to_status).label}"
    _timeline(lead, kind=TimelineEntry.Kind.LEAD_STATUS, summary=summary + (f" ({reason})" if reason else ""),
              now=now, actor=by, department=_department_of(by, lead.rooftop_id),
              detail={"from": old, "to": to_status, "reason": reason})


def lead_log_activity(*, lead: Lead, kind: str, by: User, note: str = "", reached: bool = False,
                      now: datetime | None = None) -> TimelineEntry:
    """Log a call, text, email or note. A call, text or email is a human attempt: it stops the response clock."""
    now = now or timezone.now()
    if kind not in ACTIVITY_KINDS:
        raise LeadError(f"Choose call, text, email or note (not {kind!r})")
    note = note.strip()
    if kind == "note" and not note:
        raise LeadError("Write the note before saving it")
    if len(note) > 5000:
        raise LeadError(f"Keep the note under 5,000 characters (it has {len(note):,})")
    with transaction.atomic():
        lead, clock = _lock_lead(lead.pk)
        who = _name_of(by)
        if kind == "note":
            summary = f"Note by {who}"
        else:
            outcome = "reached the customer" if reached else "no answer yet" if kind == "call" else "sent"
            summary = f"{kind.capitalize()} by {who}: {outcome}"
        entry = TimelineEntry.unscoped.create(
            customer_id=lead.customer_id, rooftop_id=lead.rooftop_id, lead=lead, kind=ACTIVITY_KINDS[kind],
            department=_department_of(by, lead.rooftop_id), direction="" if kind == "note" else "out",
            occurred_at=now, summary=summary, body=note, actor=by, detail={"reached": reached},
        )
        if kind == "note":
            return entry
        fields = []
        if lead.first_attempt_at is None:
            lead.first_attempt_at = now
            fields.append("first_attempt_at")
        if reached and lead.first_contact_at is None:
            lead.first_contact_at = now
            fields.append("first_contact_at")
        if fields:
            lead.save(update_fields=fields)
        if lead.status == Lead.Status.NEW:
            _status_change(lead, to_status=Lead.Status.WORKING, by=by, reason="First contact attempt", now=now)
        if clock is not None and clock.stopped_at is None:
            _clock_stopped(clock, LeadClock.StopReason.HUMAN_ACTION, by, now)
    return entry


def lead_set_status(*, lead: Lead, status: str, by: User, reason: str = "", now: datetime | None = None) -> Lead:
    """Change a lead's status with a reason; any change is a human action and stops the response clock."""
    now = now or timezone.now()
    reason = reason.strip()
    if status not in Lead.Status.values:
        raise LeadError(f"Unknown status {status!r}; choose one of {', '.join(Lead.Status.labels)}")
    if status == Lead.Status.LOST and not reason:
        raise LeadError("Say why the lead was lost (for example: bought elsewhere, not ready, no longer answering)")
    if len(reason) > 200:
        raise LeadError("Keep the reason under 200 characters")
    with transaction.atomic():
        lead, clock = _lock_lead(lead.pk)
        if lead.status == status:
            raise LeadError(f"The lead is already {Lead.Status(status).label.lower()}")
        _status_change(lead, to_status=status, by=by, reason=reason, now=now)
        if clock is not None and clock.stopped_at is None:
            _clock_stopped(clock, LeadClock.StopReason.STATUS_CHANGE, by, now)
    return lead


def lead_assign(*, lead: Lead, to_user: User, by: User, reason: str = "", now: datetime | None = None) -> Lead:
    """Give a lead to a salesperson by hand (a manager, or someone claiming it from the pool)."""
    now = now or timezone.now()
    with transaction.atomic():
        lead, clock = _lock_lead(lead.pk)
        if lead.status not in Lead.OPEN_STATUSES:
            raise LeadError("This lead is closed; reopen it before assigning it")
        if lead.assigned_to_id == to_user.pk:
            raise LeadError(f"The lead is already with {_name_of(to_user)}")
        candidates = {c.staff_id: c for c in load_candidates(rooftop=lead.rooftop, now=now)}
        candidate = candidates.get(to_user.pk)
        if candidate is None:
            raise LeadError(f"{_name_of(to_user)} is not a salesperson at {lead.rooftop.name}")
        why = routing.why_not_assignable(candidate)
        if why:
            raise LeadError(f"{candidate.label} {why}; choose someone who can take it now")
        from_user_id = lead.assigned_to_id
        summary = reason.strip() or (
            "Claimed from the pool" if by.pk == to_user.pk else f"Reassigned by {_name_of(by)}")
        summary = f"{summary}: now with {candidate.label}"
        LeadReroute.unscoped.create(lead=lead, kind=LeadReroute.Kind.REASSIGN,
                                    from_user_id=from_user_id, to_user=to_user, reason=summary[:500],
                                    hop=clock.hops if clock else 0, at=now, by=by)
        _give_lead(lead, to_user.pk, now)
        _timeline(lead, kind=TimelineEntry.Kind.ROUTING, summary=summary, now=now, actor=by,
                  department=TimelineEntry.Department.SYSTEM)
        if lead.first_attempt_at is None and lead.status == Lead.Status.NEW:
            # Nobody has tried the customer yet: the new owner gets a fresh clock (hops carry on).
            rule = routing_rule_for(rooftop=lead.rooftop, source=lead.source)
            deadline, warn_at, opens_at = _clock_times(rule=rule, hours=rooftop_business_hours(lead.rooftop),
                                                       tz=lead.rooftop.time_zone, now=now)
            if clock is None:
                LeadClock.unscoped.create(lead=lead, rooftop_id=lead.rooftop_id, owner=to_user, started_at=now,
                                          deadline_at=deadline, warn_at=warn_at, opens_at=opens_at)
            else:
                clock.owner, clock.deadline_at, clock.warn_at, clock.warned_at = to_user, deadline, warn_at, None
                clock.opens_at = opens_at
                clock.assign_retry_at, clock.stopped_at, clock.stop_reason, clock.stopped_by = None, None, "", None
                clock.save()
        who = f"{lead.customer} ({lead.get_source_display().lower()})"
        if by.pk != to_user.pk:
            _notify(user_ids=[to_user.pk], lead=lead, kind=LeadNotification.Kind.NEW_LEAD, now=now,
                    text=f"{_name_of(by)} gave you a lead: {who}")
        _notify(user_ids=[from_user_id] if from_user_id != by.pk else [], lead=lead, kind=LeadNotification.Kind.REROUTE,
                now=now, text=f"Lead moved to {candidate.label}: {who}")
    return lead


def lead_claim(*, lead: Lead, by: User, now: datetime | None = None) -> Lead:
    """A salesperson takes a lead that is up for grabs."""
    if lead.assigned_to_id is not None:
        raise LeadError("Someone already has this lead")
    return lead_assign(lead=lead, to_user=by, by=by, reason="Claimed from the pool", now=now)


def lead_customer_replied(*, lead: Lead, channel: str, now: datetime) -> None:
    """The customer wrote back: they are reached. Their reply does not stop the clock; a person must answer."""
    updated = Lead.unscoped.filter(pk=lead.pk, first_contact_at__isnull=True).update(first_contact_at=now)
    text = f"{lead.customer} replied by {channel}"
    _notify(user_ids=[lead.assigned_to_id], lead=lead, kind=LeadNotification.Kind.REPLY, now=now,
            text=text + (" for the first time" if updated else ""))


def lead_notifications_mark_read(*, user: User, now: datetime | None = None) -> int:
    """Mark all of a person's notifications read."""
    return LeadNotification.unscoped.filter(user=user, read_at__isnull=True).update(read_at=now or timezone.now())


# --------------------------------------------------------------------------- manager settings


def routing_rule_save(*, rooftop: Rooftop, source: str, mode: str, named_owner: User | None, response_minutes: int,
                      warn_before_minutes: int, max_hops: int, by: User,
                      after_hours: str = RoutingRule.AfterHours.NEXT_SHIFT) -> RoutingRule:
    """Save a rooftop's rule for a source after checking it with the pure module's own validation."""
    if source not in Lead.Source.values:
        raise LeadError(f"Unknown lead source {source!r}")
    if mode != RoutingRule.Mode.NAMED_OWNER:
        named_owner = None
    if named_owner is not None and not StaffRole.objects.filter(
            user=named_owner, rooftop=rooftop, role=Role.SALESPERSON).exists():
        raise LeadError(f"{_name_of(named_owner)} is not a salesperson at {rooftop.name}")
    if response_minutes > 24 * 60:
        raise LeadError("A response deadline longer than a day is not a deadline; use at most 1440 minutes")
    if warn_before_minutes and warn_before_minutes >= max(response_minutes, 1):
        raise LeadError("Warn before the deadline, not at or before the start: make the warning shorter than the deadline")
    if max_hops > 10:
        raise LeadError("At most 10 reroutes before a manager steps in")
    if after_hours not in RoutingRule.AfterHours.values:
        raise LeadError("Choose what happens to a lead that arrives while the store is closed: next shift or BDC pool")
    try:
        routing.RoutingRule(mode=mode, named_owner_id=named_owner.pk if named_owner else None,  # type: ignore[arg-type]
                            response_minutes=response_minutes, warn_before_minutes=warn_before_minutes, max_hops=max_hops,
                            after_hours=after_hours)  # type: ignore[arg-type]
    except ValueError as exc:
        message = str(exc)
        if "named_owner" in message:
            message = "Choose who owns these leads, or pick another mode"
        raise LeadError(message) from exc
    row, _ = RoutingRule.unscoped.update_or_create(
        rooftop=rooftop, source=source,
        defaults=dict(mode=mode, named_owner=named_owner, response_minutes=response_minutes,
                      warn_before_minutes=warn_before_minutes, max_hops=max_hops, after_hours=after_hours, updated_by=by),
    )
    return row


def sales_roster_save(*, rooftop: Rooftop, user: User, weight: int, active: bool, shift: dict) -> SalesRosterEntry:
    """Save one salesperson's routing settings at a rooftop (weight, on the roster, own shift)."""
    if not StaffRole.objects.filter(user=user, rooftop=rooftop, role=Role.SALESPERSON).exists():
        raise LeadError(f"{_name_of(user)} is not a salesperson at {rooftop.name}")
    if not 0 <= weight <= 100:
        raise LeadError("Weight is a share from 0 (no weighted leads) to 100")
    if shift:
        try:
            shift = routing.BusinessHours.from_dict(shift).to_dict()
        except ValueError as exc:
            raise LeadError(f"Shift: {exc}") from exc
    entry, _ = SalesRosterEntry.unscoped.update_or_create(
        rooftop=rooftop, user=user, defaults=dict(weight=weight, active=active, shift=shift or {}))
    return entry


def response_template_save(*, rooftop: Rooftop, source: str, channel: str, subject: str, body: str, active: bool,
                           by: User) -> LeadResponseTemplate:
    """Save a first-response template after checking its placeholders and length."""
    if source not in Lead.Source.values:
        raise LeadError(f"Unknown lead source {source!r}")
    if channel not in LeadResponseTemplate.Channel.values:
        raise LeadError(f"Unknown channel {channel!r}")
    errors = response_templates.template_errors(body, channel=channel)
    if channel == LeadResponseTemplate.Channel.EMAIL:
        if not subject.strip():
            errors.insert(0, "An email needs a subject.")
        errors += [f"Subject: {e}" for e in response_templates.template_errors(subject, channel=channel, field="subject")]
    if errors:
        raise LeadError(" ".join(errors))
    row, _ = LeadResponseTemplate.unscoped.update_or_create(
        rooftop=rooftop, source=source, channel=channel,
        defaults=dict(subject=subject.strip() if channel == "email" else "", body=body.strip(), active=active,
                      updated_by=by),
    )
    return row
