"""Demo data for lead routing: rules per source at both rooftops, rosters, first-response templates, and a few
open leads with running clocks so "my day" and the availability board have something live to show.

Idempotent: rules, roster entries and templates are created only when missing (a manager's edits survive a
re-seed), and the live leads are keyed by dedupe_key. Their clocks start at the real time of seeding, not at
ctx.now, because a countdown that ran out at noon is no demo; beat then reroutes them like any other lead.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from customers.models import Customer, OutboundMessage, TimelineEntry
from leads.models import (
    InventoryVehicle, Lead, LeadClock, LeadNotification, LeadReroute, LeadResponseTemplate, RoutingRule,
    SalesRosterEntry,
)
from leads import response_templates
from leads.services.first_response import response_context, response_template_texts
from rooftops.demo import DemoContext

# source: (mode, response minutes, warn before, max hops)
RULES = {
    "web_form": ("round_robin", 15, 5, 2),
    "adf": ("weighted", 15, 5, 2),
    "chat": ("round_robin", 5, 2, 2),
    "phone": ("named_owner", 30, 10, 1),
    "walk_in": ("pool", 30, 10, 1),
    "service": ("round_robin", 60, 15, 1),
}
# The first salesperson of each store owns phone leads and takes a bigger share of provider leads.
LEAD_SALESPEOPLE = {
    "lakeside-toyota": ["sales1@demo.test", "sales2@demo.test", "sales3@demo.test"],
    "summit-honda": ["sales4@demo.test", "sales5@demo.test", "sales6@demo.test"],
}
TEMPLATES = {
    ("web_form", "email"): (
        "Your inquiry about the {vehicle} at {rooftop}",
        "Hi {customer_first_name},\n\nThanks for asking about the {vehicle}. {reply_promise}\n\n"
        "Questions before then? Call us at {rooftop_phone}.\n\n{salesperson}\n{rooftop}",
    ),
    ("web_form", "sms"): (
        "", "Hi {customer_first_name}, this is {rooftop}: thanks for asking about the {vehicle}. {reply_promise} "
            "Reply STOP to opt out.",
    ),
    ("adf", "email"): (
        "The {vehicle} you found online",
        "Hi {customer_first_name},\n\nWe received your request about the {vehicle}. {salesperson} is your contact "
        "at {rooftop}. {reply_promise}\n\n{rooftop} · {rooftop_phone}",
    ),
    ("adf", "sms"): (
        "", "{rooftop}: hi {customer_first_name}, we got your request about the {vehicle}. {reply_promise} "
            "Reply STOP to opt out.",
    ),
    ("chat", "email"): (
        "Following up on our chat about the {vehicle}",
        "Hi {customer_first_name},\n\nThanks for chatting with us about the {vehicle}. {reply_promise}\n\n{rooftop}",
    ),
    ("chat", "sms"): (
        "", "Thanks for chatting with {rooftop} about the {vehicle}, {customer_first_name}. {reply_promise} "
            "Reply STOP to opt out.",
    ),
}
# (minutes until the deadline, source): what "my day" shows for the store's first salesperson. The provider
# lead was rerouted to them a few minutes ago from the second salesperson.
LIVE_LEADS = [(3, "chat"), (9, "web_form"), (13, "adf"), (28, "phone")]
REROUTED_SOURCE = "adf"


def seed(ctx: DemoContext) -> None:
    with transaction.atomic():
        for slug, rooftop in ctx.rooftops.items():
            people = [ctx.staff[u] for u in LEAD_SALESPEOPLE[slug] if u in ctx.staff]
            if not people:
                continue
            _seed_rules(rooftop, people)
            _seed_roster(rooftop, people)
            _seed_templates(rooftop)
            _seed_live_leads(ctx, slug, rooftop, people)


def _seed_rules(rooftop, people) -> None:
    for source, (mode, minutes, warn, hops) in RULES.items():
        RoutingRule.unscoped.get_or_create(
            rooftop=rooftop, source=source,
            defaults=dict(mode=mode, named_owner=people[0] if mode == "named_owner" else None,
                          response_minutes=minutes, warn_before_minutes=warn, max_hops=hops),
        )


def _seed_roster(rooftop, people) -> None:
    for index, person in enumerate(people):
        # The third salesperson works afternoons and Saturdays: the shift rule shows on the settings page.
        shift = {day: [["12:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [["09:00", "18:00"]]} \
            if index == 2 else {}
        SalesRosterEntry.unscoped.get_or_create(rooftop=rooftop, user=person,
                                                defaults=dict(weight=2 if index == 0 else 1, shift=shift))


def _seed_templates(rooftop) -> None:
    for (source, channel), (subject, body) in TEMPLATES.items():
        LeadResponseTemplate.unscoped.get_or_create(rooftop=rooftop, source=source, channel=channel,
                                                    defaults=dict(subject=subject, body=body))


def _seed_live_leads(ctx: DemoContext, slug: str, rooftop, people) -> None:
    rng = ctx.rng(f"leads-live:{slug}")
    now = timezone.now()
    customers = list(Customer.unscoped.filter(known_at__rooftop=rooftop).order_by("id")[:300])
    vehicles = list(InventoryVehicle.unscoped.filter(rooftop=rooftop, status="in_stock").order_by("id")[:100])
    if not customers or not vehicles:
        return
    owner, other = people[0], people[1] if len(people) > 1 else people[0]
    plans = [(f"demo-live:{slug}:{n}", minutes, source, owner) for n, (minutes, source) in enumerate(LIVE_LEADS)]
    plans.append((f"demo-live:{slug}:pool", 20, "walk_in", None))
    for key, minutes, source, person in plans:
        if Lead.unscoped.filter(rooftop=rooftop, dedupe_key=key).exists():
            continue
        customer, vehicle = rng.choice(customers), rng.choice(vehicles)
        response = RULES[source][1]
        rerouted = source == REROUTED_SOURCE and other != owner
        # A rerouted lead had one full deadline with the first person, then a fresh one with the second.
        waited = response + (response - minutes) if rerouted else max(response - minutes, 0)
        created = now - timedelta(minutes=waited, seconds=rng.randint(5, 50))
        lead = Lead.unscoped.create(
            rooftop=rooftop, customer=customer, source=source, vehicle=vehicle, created_at=created,
            assigned_to=person, assigned_at=created + timedelta(seconds=2) if person else None,
            first_response_at=created + timedelta(seconds=40) if source in ("web_form", "adf", "chat") else None,
            status_changed_at=created, dedupe_key=key, provider="Cars.com" if source == "adf" else "",
        )
        deadline = now + timedelta(minutes=minutes)
        warn_minutes = RULES[source][2]
        LeadClock.unscoped.create(
            lead=lead, rooftop=rooftop, owner=person, started_at=created, deadline_at=deadline,
            warn_at=deadline - timedelta(minutes=warn_minutes), urgent=source == "chat",
        )
        if lead.first_response_at:
            _seed_first_response(lead)
        TimelineEntry.unscoped.create(
            customer=customer, rooftop=rooftop, lead=lead, department="web" if person else "sales", kind="lead",
            occurred_at=created, summary=f"New {lead.get_source_display().lower()} lead: {vehicle.title} "
                                         f"(stock {vehicle.stock_number})")
        if person is None:
            TimelineEntry.unscoped.create(customer=customer, rooftop=rooftop, lead=lead, department="system",
                                          kind="routing", occurred_at=created,
                                          summary="Pool mode: left in the pool for the first to claim")
            continue
        if rerouted:
            # One lead that already moved once, so the routing history and notifications have an example.
            reason = (f"No response in 15 minutes: rerouted from {other.staff_profile.display_name} to "
                      f"{owner.staff_profile.display_name}. Weighted: furthest below their share of leads")
            LeadReroute.unscoped.create(lead=lead, kind="deadline", from_user=other, to_user=owner,
                                        reason=reason, hop=1, at=created + timedelta(minutes=15))
            LeadClock.unscoped.filter(lead=lead).update(hops=1)
            TimelineEntry.unscoped.create(customer=customer, rooftop=rooftop, lead=lead, department="system",
                                          kind="routing", occurred_at=created + timedelta(minutes=15), summary=reason)
            LeadNotification.unscoped.create(user=owner, rooftop=rooftop, lead=lead, kind="reroute",
                                             created_at=created + timedelta(minutes=15),
                                             text=f"Rerouted lead for you: {customer} (lead provider). Respond before "
                                                  "the clock runs out.")
        else:
            TimelineEntry.unscoped.create(customer=customer, rooftop=rooftop, lead=lead, department="system",
                                          kind="routing", occurred_at=created,
                                          summary=f"Assigned to {owner.staff_profile.display_name}: "
                                                  "Round robin: next available salesperson")
        LeadNotification.unscoped.create(user=owner, rooftop=rooftop, lead=lead, kind="new_lead", created_at=created,
                                         text=f"New {lead.get_source_display().lower()} lead: {customer} about the "
                                              f"{vehicle.title}")


def _seed_first_response(lead: Lead) -> None:
    """The automated email the lead got, as sent (the demo never talks to a mail server)."""
    email = lead.customer.emails.order_by("-is_primary", "id").values_list("email", flat=True).first()
    texts = response_template_texts(rooftop=lead.rooftop, source=lead.source, channel="email")
    if not email or texts is None:
        return
    context = response_context(lead=lead, now=lead.created_at)
    subject, body = texts
    OutboundMessage.unscoped.get_or_create(
        idempotency_key=f"first-response:{lead.pk}:email",
        defaults=dict(customer=lead.customer, rooftop=lead.rooftop, lead=lead, channel="email", kind="first_response",
                      to_address=email, subject=response_templates.render(subject, context),
                      body=response_templates.render(body, context), status="sent", send_after=lead.created_at,
                      created_at=lead.created_at, sent_at=lead.first_response_at, attempts=1,
                      provider_id=f"<demo-{lead.pk}@crm.localhost>"),
    )
