"""A manager's lead settings: routing rules per source, the sales roster, response templates."""

from __future__ import annotations


from django.contrib.auth.models import User

from leads import response_templates, routing
from leads.models import Lead, LeadResponseTemplate, RoutingRule, SalesRosterEntry
from rooftops.models import Role, Rooftop, StaffRole
from leads.services import LeadError
from leads.services.roster import name_of


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
        raise LeadError(f"{name_of(named_owner)} is not a salesperson at {rooftop.name}")
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
        raise LeadError(f"{name_of(user)} is not a salesperson at {rooftop.name}")
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
