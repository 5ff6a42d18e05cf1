"""What staff do on a lead: log an activity, change its status, assign or claim it."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from customers.models import TimelineEntry
from leads import routing
from leads.models import Lead, LeadClock, LeadNotification, LeadReroute, LeadStatusChange
from leads.services import LeadError
from leads.services.clock import clock_stopped, clock_times, give_lead, lock_lead
from leads.services.notices import lead_webhook, notify, timeline
from leads.services.roster import department_of, load_candidates, name_of, rooftop_business_hours, routing_rule_for


ACTIVITY_KINDS = {
    "call": TimelineEntry.Kind.CALL,
    "text": TimelineEntry.Kind.TEXT,
    "email": TimelineEntry.Kind.EMAIL,
    "note": TimelineEntry.Kind.NOTE,
}


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
    timeline(lead, kind=TimelineEntry.Kind.LEAD_STATUS, summary=summary + (f" ({reason})" if reason else ""),
              now=now, actor=by, department=department_of(by, lead.rooftop_id),
              detail={"from": old, "to": to_status, "reason": reason})
    lead_webhook(lead, "lead.status_changed", now=now, previous_status=old, reason=reason[:200])


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
        lead, clock = lock_lead(lead.pk)
        who = name_of(by)
        if kind == "note":
            summary = f"Note by {who}"
        else:
            outcome = "reached the customer" if reached else "no answer yet" if kind == "call" else "sent"
            summary = f"{kind.capitalize()} by {who}: {outcome}"
        entry = TimelineEntry.unscoped.create(
            customer_id=lead.customer_id, rooftop_id=lead.rooftop_id, lead=lead, kind=ACTIVITY_KINDS[kind],
            department=department_of(by, lead.rooftop_id), direction="" if kind == "note" else "out",
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
            clock_stopped(clock, LeadClock.StopReason.HUMAN_ACTION, by, now)
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
        lead, clock = lock_lead(lead.pk)
        if lead.status == status:
            raise LeadError(f"The lead is already {Lead.Status(status).label.lower()}")
        _status_change(lead, to_status=status, by=by, reason=reason, now=now)
        if clock is not None and clock.stopped_at is None:
            clock_stopped(clock, LeadClock.StopReason.STATUS_CHANGE, by, now)
    return lead


def lead_assign(*, lead: Lead, to_user: User, by: User, reason: str = "", now: datetime | None = None) -> Lead:
    """Give a lead to a salesperson by hand (a manager, or someone claiming it from the pool)."""
    now = now or timezone.now()
    with transaction.atomic():
        lead, clock = lock_lead(lead.pk)
        if lead.status not in Lead.OPEN_STATUSES:
            raise LeadError("This lead is closed; reopen it before assigning it")
        if lead.assigned_to_id == to_user.pk:
            raise LeadError(f"The lead is already with {name_of(to_user)}")
        candidates = {c.staff_id: c for c in load_candidates(rooftop=lead.rooftop, now=now)}
        candidate = candidates.get(to_user.pk)
        if candidate is None:
            raise LeadError(f"{name_of(to_user)} is not a salesperson at {lead.rooftop.name}")
        why = routing.why_not_assignable(candidate)
        if why:
            raise LeadError(f"{candidate.label} {why}; choose someone who can take it now")
        from_user_id = lead.assigned_to_id
        summary = reason.strip() or (
            "Claimed from the pool" if by.pk == to_user.pk else f"Reassigned by {name_of(by)}")
        summary = f"{summary}: now with {candidate.label}"
        LeadReroute.unscoped.create(lead=lead, kind=LeadReroute.Kind.REASSIGN,
                                    from_user_id=from_user_id, to_user=to_user, reason=summary[:500],
                                    hop=clock.hops if clock else 0, at=now, by=by)
        give_lead(lead, to_user.pk, now)
        timeline(lead, kind=TimelineEntry.Kind.ROUTING, summary=summary, now=now, actor=by,
                  department=TimelineEntry.Department.SYSTEM)
        if lead.first_attempt_at is None and lead.status == Lead.Status.NEW:
            # Nobody has tried the customer yet: the new owner gets a fresh clock (hops carry on).
            rule = routing_rule_for(rooftop=lead.rooftop, source=lead.source)
            deadline, warn_at, opens_at = clock_times(rule=rule, hours=rooftop_business_hours(lead.rooftop),
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
            notify(user_ids=[to_user.pk], lead=lead, kind=LeadNotification.Kind.NEW_LEAD, now=now,
                    text=f"{name_of(by)} gave you a lead: {who}")
        notify(user_ids=[from_user_id] if from_user_id != by.pk else [], lead=lead, kind=LeadNotification.Kind.REROUTE,
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
    notify(user_ids=[lead.assigned_to_id], lead=lead, kind=LeadNotification.Kind.REPLY, now=now,
            text=text + (" for the first time" if updated else ""))


def lead_notifications_mark_read(*, user: User, now: datetime | None = None) -> int:
    """Mark all of a person's notifications read."""
    return LeadNotification.unscoped.filter(user=user, read_at__isnull=True).update(read_at=now or timezone.now())
