"""The automated first response: its words from the store's templates and its message in the outbox."""

from __future__ import annotations

from datetime import datetime


from customers.messaging import outbound_message_queue
from customers.models import OutboundMessage
from leads import response_templates, routing
from leads.models import Lead, LeadResponseTemplate
from rooftops.models import Rooftop
from leads.services.roster import display_name, rooftop_business_hours, routing_rule_for


AUTO_RESPONSE_SOURCES = frozenset({Lead.Source.WEB_FORM, Lead.Source.ADF, Lead.Source.CHAT})


def vehicle_phrase(lead: Lead) -> str:
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
        vehicle=vehicle_phrase(lead),
        salesperson=display_name(lead.assigned_to_id) or "our team",
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
