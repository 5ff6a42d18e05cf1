"""A lead arrives: the one `lead_create` every intake calls, its routing and its first response."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.contact import InvalidContact, normalize_email, normalize_phone
from customers.matching import ArrivingContact, customer_match_or_create
from customers.models import ConsentRecord, Customer, TimelineEntry
from leads import routing
from leads.models import InventoryVehicle, Lead, LeadClock, LeadNotification
from rooftops.models import Rooftop
from leads.services import LeadError
from leads.services.clock import clock_start, give_lead
from leads.services.first_response import AUTO_RESPONSE_SOURCES, lead_first_response_queue, vehicle_phrase
from leads.services.notices import lead_webhook, notify, routing_note, timeline
from leads.services.roster import load_candidates, rooftop_business_hours, routing_rule_for

logger = logging.getLogger(__name__)


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
    customer: Customer | None = None,
    now: datetime | None = None,
) -> LeadCreateResult:
    """The one way any intake makes a lead: customer, timeline, assignment, response clock, first response.

    `customer`: staff made the lead from a customer already on file (equity mining); the matcher is not asked."""
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
    if customer is None and not (email or phone or first_name.strip() or last_name.strip()):
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
                created_by=created_by, customer=customer, now=now,
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
                 urgent: bool, created_by: User | None, now: datetime, customer: Customer | None = None) -> Lead:
    customer = customer or customer_match_or_create(
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
    timeline(lead, kind=TimelineEntry.Kind.LEAD, now=now, actor=created_by, body=comments,
              summary=f"New {lead.get_source_display().lower()} lead{from_provider}: {what}{stock}",
              department=TimelineEntry.Department.WEB if source in AUTO_RESPONSE_SOURCES else TimelineEntry.Department.SALES)
    lead_webhook(lead, "lead.created", now=now)  # before routing: receivers see created, then assigned
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
        give_lead(lead, decision.staff_id, now)
        routing_note(lead, f"Assigned to {names[decision.staff_id]}: {decision.reason}", now, reason=decision.reason)
        vehicle = vehicle_phrase(lead)
        about = f" about the {vehicle}" if vehicle else ""
        when = ""
        if opens_at is not None:
            when = f" (for when the store opens, {timezone.localtime(opens_at, ZoneInfo(tz)):%a %-I:%M %p})"
        notify(user_ids=[decision.staff_id], lead=lead, kind=LeadNotification.Kind.NEW_LEAD, now=now,
                text=f"New {lead.get_source_display().lower()} lead: {lead.customer}{about}{when}")
    else:
        routing_note(lead, decision.reason, now, reason=decision.reason)
    clock_start(lead=lead, rule=rule, hours=hours, owner_id=decision.staff_id, urgent=urgent, now=now)
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
