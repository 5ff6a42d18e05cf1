"""The assistant's reads. Every one is scoped by the conversation's rooftop (and its own conversation); nothing
a shopper writes is used to choose a customer, lead or appointment.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse

from customers.models import Appointment
from leads import routing
from leads.models import InventoryVehicle, Lead, SalesRosterEntry
from leads.services.roster import rooftop_business_hours, rooftop_service_hours, routing_rule_for
from rooftops.models import Availability, Role, Rooftop
from service.valuation import DepreciationModel, VehicleFacts

from assistant import slots as free
from assistant.dialogue import StoreFacts, VehicleFact
from assistant.models import Conversation, ConversationMessage
from assistant.understanding import Understanding
from assistant.vehicles import DEFAULT_MODELS

TRADE_SPREAD = 0.10  # the calculator's range: the model's figure ±10%, since condition is unknown


def open_text_conversation_for(*, rooftop: Rooftop, phone: str) -> Conversation | None:
    """A texter's open conversation: their number is who they are (the carrier vouches for it). A browser's chat
    is never found this way, by its visitor id: that id travels in every tracked event and is no secret, so a chat
    is reached only through its own unguessable id (`conversation_by_public_id`)."""
    if not phone:
        return None
    return (Conversation.unscoped.filter(rooftop=rooftop, channel=Conversation.Channel.SMS, phone=phone)
            .exclude(status=Conversation.Status.CLOSED).order_by("-id").first())


def conversation_by_public_id(*, rooftop: Rooftop, public_id: str) -> Conversation | None:
    """The one way a shopper reaches a conversation: its id and the rooftop's key, both right."""
    if not isinstance(public_id, str) or not 10 <= len(public_id) <= 64:
        return None
    return Conversation.unscoped.filter(rooftop=rooftop, public_id=public_id).select_related("rooftop").first()


def conversation_messages(conversation: Conversation) -> list[ConversationMessage]:
    return list(ConversationMessage.objects.filter(conversation=conversation).order_by("id"))


def transcript_text(conversation: Conversation, extra: tuple[tuple[str, str], ...] = ()) -> str:
    lines = [(m.author, m.text) for m in conversation_messages(conversation)] + list(extra)
    return "\n".join(f"{'Shopper' if a == 'shopper' else 'Assistant' if a == 'assistant' else 'Staff'}: {t}"
                     for a, t in lines)


def known_models(rooftop: Rooftop) -> tuple[tuple[str, str], ...]:
    """The models the understanding knows: the built-in list plus whatever this store has in stock."""
    stocked = set(InventoryVehicle.unscoped.filter(rooftop=rooftop, status__in=InventoryVehicle.LISTED_STATUSES)
                  .values_list("make", "model").distinct())
    return tuple(dict.fromkeys(DEFAULT_MODELS + tuple(sorted(stocked))))


# --------------------------------------------------------------------------- store facts


def store_facts(*, rooftop: Rooftop, understanding: Understanding, state: dict[str, Any], now: datetime) -> StoreFacts:
    u = understanding
    hours, service_hours = rooftop_business_hours(rooftop), rooftop_service_hours(rooftop)
    facts: dict[str, Any] = {}
    if u.intent in ("inventory", "price") or "inventory" in u.also or "price" in u.also:
        facts["vehicles"] = vehicles_matching(rooftop=rooftop, wanted=_wanted(u, state))
    if u.intent == "trade_in" or "trade_in" in u.also:
        facts["trade_range"] = trade_range({**state.get("trade_in", {}), **{
            k: v for k, v in vars(u.slots.trade_in).items() if v is not None}}, today=now.date())
    booking = state.get("booking") or {}
    kind = u.intent if u.intent in ("test_drive", "service_appointment") else booking.get("kind")
    if kind:
        department = "service" if kind == "service_appointment" else "sales"
        window = (u.slots.when.start, u.slots.when.end) if u.slots.when is not None else None
        department_hours = service_hours if department == "service" else hours
        found = spread(free_slots(rooftop=rooftop, department=department, now=now, window=window,
                                  hours=department_hours, count=16))
        if window is not None and len(found) < 2:
            # One free time left in the asked window: offer the next openings after it beside it.
            found += free_slots(rooftop=rooftop, department=department, now=now, hours=department_hours,
                                count=3 - len(found),
                                window=(window[1], window[1] + timedelta(days=free.SEARCH_DAYS)))
        facts["free_slots"] = tuple(s.start for s in found)
    if u.intent == "human" or u.confidence < 0.5 or kind or state.get("handed_off"):
        facts["reply_by"] = reply_by(rooftop=rooftop, now=now)
    return StoreFacts(name=rooftop.name, address=rooftop.address, phone=rooftop.phone, time_zone=rooftop.time_zone,
                      hours={"sales": hours, "service": service_hours}, website_url=rooftop.website_url, **facts)


def _wanted(u: Understanding, state: dict[str, Any]) -> dict[str, Any]:
    said = {k: v for k, v in vars(u.slots.vehicle).items() if v is not None}
    if said:
        return said
    if state.get("vehicle", {}).get("stock_number"):  # "how much is it?" about the one just shown
        return {"stock_number": state["vehicle"]["stock_number"]}
    return state.get("wanted", {})


def vehicles_matching(*, rooftop: Rooftop, wanted: dict[str, Any], limit: int = 3) -> tuple[VehicleFact, ...]:
    if not wanted:
        return ()
    found = InventoryVehicle.unscoped.filter(rooftop=rooftop, status__in=InventoryVehicle.LISTED_STATUSES)
    if wanted.get("stock_number"):
        found = found.filter(stock_number__iexact=wanted["stock_number"])
    elif wanted.get("vin"):
        found = found.filter(vin__iexact=wanted["vin"])
    else:
        for key, column in (("make", "make__iexact"), ("model", "model__iexact"), ("year", "year"),
                            ("trim", "trim__icontains"), ("color", "exterior_color__icontains")):
            if wanted.get(key):
                found = found.filter(**{column: wanted[key]})
        if wanted.get("condition") == "new":
            found = found.filter(condition=InventoryVehicle.Condition.NEW)
        elif wanted.get("condition") == "used":
            found = found.filter(condition__in=[InventoryVehicle.Condition.USED, InventoryVehicle.Condition.CPO])
        if wanted.get("max_price"):
            found = found.filter(price_cents__lte=int(wanted["max_price"]) * 100)
    rows = found.order_by("price_cents", "id")[:limit]
    return tuple(VehicleFact(
        stock_number=v.stock_number, vin=v.vin, year=v.year, make=v.make, model=v.model, trim=v.trim,
        color=v.exterior_color, condition=v.get_condition_display().lower(), price=v.price_cents // 100,
        url=_vdp(rooftop, v.stock_number)) for v in rows)


def _vdp(rooftop: Rooftop, stock_number: str) -> str:
    try:
        path = reverse("demo-site-vdp", kwargs={"slug": rooftop.slug, "stock": stock_number})
    except Exception:  # a stock number the URL pattern cannot carry: no link rather than no answer
        return ""
    return f"{rooftop.website_url.rstrip('/')}{path}" if rooftop.website_url else path


def trade_range(trade: dict[str, Any], *, today: date) -> tuple[int, int] | None:
    """The trade calculator's rough range; the demo site's calculator is browser-only, so the built-in
    depreciation model (service.valuation) gives the figure and the range is ±10% for unknown condition."""
    if not trade.get("year"):
        return None
    value = DepreciationModel().value(VehicleFacts(year=trade.get("year"), make=trade.get("make") or "",
                                                   model=trade.get("model") or "", mileage=trade.get("mileage")),
                                      today)
    if value.cents is None:
        return None
    dollars = value.cents // 100
    return (round(dollars * (1 - TRADE_SPREAD), -2), round(dollars * (1 + TRADE_SPREAD), -2))


def reply_by(*, rooftop: Rooftop, now: datetime) -> str:
    """When a person will reply, in the first response's own words (leads.response_templates.reply_by)."""
    from leads import response_templates

    rule = routing_rule_for(rooftop=rooftop, source=Lead.Source.CHAT)
    hours = rooftop_business_hours(rooftop)
    window = routing.response_window(now, rule, hours, rooftop.time_zone)
    return response_templates.reply_by(response_templates.ResponseContext(
        customer_first_name="", vehicle="", salesperson="our team", rooftop=rooftop.name,
        rooftop_phone=rooftop.phone, response_minutes=rule.response_minutes, store_open=window.opens_at is None,
        next_open_at=window.opens_at, time_zone=rooftop.time_zone, now=now, reply_due_at=window.deadline_at))


# --------------------------------------------------------------------------- free slots


def free_slots(*, rooftop: Rooftop, department: str, now: datetime, window: tuple[datetime, datetime] | None,
               hours: routing.BusinessHours | None = None, count: int = 3) -> list[free.Slot]:
    hours = hours or (rooftop_service_hours(rooftop) if department == "service" else rooftop_business_hours(rooftop))
    horizon_start = now - timedelta(hours=2)
    horizon_end = now + timedelta(days=free.SEARCH_DAYS + 8)
    booked = [free.Booked(start=a.scheduled_at, end=a.scheduled_at + free.SLOT, department=a.department,
                          staff_id=a.assigned_to_id)
              for a in Appointment.unscoped.filter(rooftop=rooftop, scheduled_at__gte=horizon_start,
                                                   scheduled_at__lt=horizon_end)
              .exclude(status=Appointment.Status.CANCELLED).only("scheduled_at", "department", "assigned_to_id")]
    return free.free_slots(department=department, hours=hours, time_zone=rooftop.time_zone,
                           staff=_sales_staff(rooftop) if department == "sales" else (), booked=booked, now=now,
                           window=window, count=count)


def _sales_staff(rooftop: Rooftop) -> list[free.Staff]:
    """The store's salespeople as the slot finder sees them: roster, shift, and who is off today."""
    User = get_user_model()
    people = (User.objects.filter(staff_roles__rooftop=rooftop, staff_roles__role=Role.SALESPERSON)
              .select_related("staff_profile").distinct())
    roster = {e.user_id: e for e in SalesRosterEntry.unscoped.filter(rooftop=rooftop)}
    staff = []
    for person in people:
        entry = roster.get(person.id)
        shift = None
        if entry is not None and entry.shift:
            try:
                shift = routing.BusinessHours.from_dict(entry.shift)
            except ValueError:
                continue  # an unreadable shift is off shift, as routing judges it
        profile = getattr(person, "staff_profile", None)
        staff.append(free.Staff(staff_id=person.id, shift=shift,
                                active=person.is_active and (entry.active if entry else True),
                                off_today=profile is None or profile.availability == Availability.OFF))
    return staff


def spread(found: list[free.Slot], count: int = 3) -> list[free.Slot]:
    """The first, middle and last free slots of the asked window: a real choice, not three in a row."""
    if len(found) <= count:
        return found
    picks = sorted({int(i * (len(found) - 1) / (count - 1) + 0.5) for i in range(count)})
    return [found[i] for i in picks]


def slot_free(*, rooftop: Rooftop, department: str, at: datetime, now: datetime) -> free.Slot | None:
    """The slot at `at` if it is still free now (booking re-checks under the conversation's lock)."""
    found = free_slots(rooftop=rooftop, department=department, now=now, window=(at, at + free.SLOT), count=1)
    return found[0] if found and found[0].start == at else None

