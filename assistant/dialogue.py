"""What the assistant says next, what it remembers, and what should happen. Pure: no database, no clock.

`respond(state, understanding, facts, now)` → `Turn(text, state, actions)`. `state` is the conversation's JSON
memory (the vehicle talked about, the slots offered, the booking awaiting a yes, name/phone/email, trade-in);
`facts` is what the services looked up for this message from the rooftop alone (StoreFacts); actions are what
the services then write: `Book` (only after the shopper said yes and gave a name and a phone or email) and
`Handoff` (a person, a complaint, a negotiation, or anything it cannot answer).

Rules the replies keep: a price is the live inventory price and is never negotiated; financing is explained
without promising a rate; a suspicious message gets a polite refusal and no data at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from leads.routing import DAY_KEYS, BusinessHours, is_open

from assistant.understanding import Understanding

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
YES = re.compile(r"^\s*(?:yes|yeah|yep|yup|ya|sure|ok|okay|k|si|sí|please|perfect|great|sounds good|that works|"
                 r"works|book it|do it|go ahead|confirm|confirmed|correct|absolutely|definitely|of course)\b", re.I)
NO = re.compile(r"^\s*(?:no|nope|nah|not really|actually no|cancel|never ?mind)\b", re.I)
ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "last": -1,
            "earliest": 0, "primero": 0, "segundo": 1, "tercero": 2}
NAME_WORDS = re.compile(r"^[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'.-]*$")
NOT_NAME = frozenset({"yes", "yeah", "yep", "ok", "okay", "sure", "si", "please", "book", "it", "thanks", "thank",
                      "you", "and", "my", "name", "is", "number", "phone", "email", "works", "great", "perfect",
                      "that", "the", "at", "me", "i'm", "im", "this", "call", "text", "cell", "mobile", "go",
                      "ahead", "sounds", "good", "confirm", "do", "for", "under", "put"})


@dataclass(frozen=True)
class VehicleFact:
    stock_number: str
    vin: str
    year: int | None
    make: str
    model: str
    trim: str
    color: str
    condition: str
    price: int | None  # whole dollars, live
    url: str = ""  # the demo site's vehicle page

    @property
    def title(self) -> str:
        return " ".join(str(p) for p in (self.year, self.make, self.model, self.trim) if p)


@dataclass(frozen=True)
class StoreFacts:
    name: str
    address: str
    phone: str
    time_zone: str
    hours: dict[str, BusinessHours]  # by department: "sales", "service"
    vehicles: tuple[VehicleFact, ...] = ()  # matching what the shopper asked, best first
    trade_range: tuple[int, int] | None = None  # rough trade-in value, whole dollars
    free_slots: tuple[datetime, ...] = ()  # for the booking being discussed
    reply_by: str = ""  # the sentence saying when a person will reply (leads.response_templates.reply_by)
    website_url: str = ""


@dataclass(frozen=True)
class Book:
    kind: str  # "test_drive" or "service"
    department: str
    at: datetime
    name: str
    phone: str
    email: str
    stock_number: str = ""


@dataclass(frozen=True)
class Handoff:
    reason: str  # asked_for_person / complaint / negotiation / unanswered / low_confidence
    asked: str  # what they asked, in a few words, for the alert and the lead


@dataclass(frozen=True)
class Turn:
    text: str
    state: dict[str, Any]
    actions: tuple[Book | Handoff, ...] = field(default=())

    def __post_init__(self) -> None:
        # A reply may open on a slot label ("today 9:00 AM — shall I book it?"): a sentence starts with a capital.
        if self.text[:1].islower():
            object.__setattr__(self, "text", self.text[0].upper() + self.text[1:])


def respond(state: dict[str, Any], u: Understanding, facts: StoreFacts, now: datetime, message: str = "") -> Turn:
    """The reply to one shopper message, the conversation's new memory, and what to write."""
    state = _copy(state)
    if u.guessed and (state.get("booking") or state.get("handed_off")):
        # A guess knows one message, not the conversation: "the first one" or "Ana, 617-555-0142" answers the
        # question the assistant just asked, so it is read as the rules read it, a reply with no new ask.
        u = replace(u, intent="other", also=(), slots=replace(u.slots, reason=None))
    zone = ZoneInfo(facts.time_zone)
    slots = u.slots
    if u.intent == "opt_out":
        state["opted_out"] = True
        return Turn("Understood — we won't message you again. If you need us, you can always reach us at "
                    f"{facts.phone or facts.name}.", state)
    if slots.suspicious:
        return Turn("Sorry, I can't help with that. I can answer questions about our vehicles, hours, "
                    "trade-ins, or book a test drive or service visit.", state)
    _remember(state, u)
    asked = state.setdefault("asked", [])
    for intent in (u.intent, *u.also):
        if intent not in asked and intent != "other":
            asked.append(intent)

    if u.intent == "human":
        return _handoff(state, facts, slots.reason or "asked_for_person", message)
    if state.get("handed_off") and u.intent == "other" and (slots.phone or slots.email or slots.name):
        # The details asked for at the handoff: the services complete the lead with them.
        if not state.get("name"):
            name = _bare_name(message)
            if name:
                state["name"] = name
        thanks = f"Thanks, {state['name'].split()[0]}" if state.get("name") else "Thanks"
        return Turn(f"{thanks} — I've passed your details on. {facts.reply_by or 'A person will reply shortly.'}",
                    state)

    booking = state.get("booking")
    if booking and u.intent in ("other", booking["kind"]) or booking and booking.get("confirmed"):
        turn = _continue_booking(state, booking, u, facts, zone, message, now)
        if turn is not None:
            return turn

    if u.intent in ("test_drive", "service_appointment"):
        return _offer(state, u, facts, zone, now)
    answer = {"hours": _hours, "location": _location, "inventory": _inventory, "price": _price,
              "trade_in": _trade_in, "financing": _financing}.get(u.intent)
    if answer is None:
        if u.confidence < 0.5 and message.strip() and len(message.split()) > 3:
            return _handoff(state, facts, "unanswered", message)
        return Turn("I can help with our vehicles and prices, hours, directions, trade-ins, financing basics, "
                    "or booking a test drive or service visit. What would you like?", state)
    text = answer(state, u, facts, zone, now)
    return Turn(text, state)


# --------------------------------------------------------------------------- memory


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    import copy
    return copy.deepcopy(state) if isinstance(state, dict) else {}


def _remember(state: dict[str, Any], u: Understanding) -> None:
    s = u.slots
    for key in ("name", "phone", "email"):
        if getattr(s, key):
            state[key] = getattr(s, key)
    trade = {k: v for k, v in vars(s.trade_in).items() if v is not None}
    if trade:
        state["trade_in"] = {**state.get("trade_in", {}), **trade}
    wanted = {k: v for k, v in vars(s.vehicle).items() if v is not None}
    if wanted:
        state["wanted"] = wanted


def remember_vehicles(state: dict[str, Any], found: tuple[VehicleFact, ...]) -> None:
    if found:
        state["vehicle"] = {"stock_number": found[0].stock_number, "title": found[0].title, "price": found[0].price}
        seen = state.setdefault("vehicles", [])
        for v in found:
            if v.title not in seen:
                seen.append(v.title)


# --------------------------------------------------------------------------- answers


def _money(amount: int | None) -> str:
    return f"${amount:,}" if amount is not None else "price on request"


def _clock(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return local.strftime("%-I:%M %p")


def slot_label(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    if local.date() == today:
        day = "today"
    elif (local.date() - today).days == 1:
        day = "tomorrow"
    elif (local.date() - today).days < 7:
        day = DAY_NAMES[local.weekday()]
    else:
        day = local.strftime("%A, %B %-d")
    return f"{day} {_clock(moment, zone)}"


def _day_hours(hours: BusinessHours, day: date) -> str:
    if day in hours.closed_dates:
        return "closed"
    intervals = hours.weekly[day.weekday()]
    if not intervals:
        return "closed"
    return ", ".join(f"{o.strftime('%-I:%M %p')}–{c.strftime('%-I:%M %p')}" for o, c in intervals)


def _week(hours: BusinessHours) -> str:
    parts = []
    for i, key in enumerate(DAY_KEYS):
        intervals = hours.weekly[i]
        text = ", ".join(f"{o.strftime('%-I%p').lower()}–{c.strftime('%-I%p').lower()}" for o, c in intervals)
        parts.append(f"{DAY_NAMES[i][:3]} {text or 'closed'}")
    return "; ".join(parts)


def _hours(state, u, facts: StoreFacts, zone, now) -> str:
    department = u.slots.department or "sales"
    hours = facts.hours.get(department) or facts.hours["sales"]
    label = "Service" if department == "service" else "Sales"
    today = now.astimezone(zone).date()
    asked_day = u.slots.when.start.astimezone(zone).date() if u.slots.when else today
    which = "Today" if asked_day == today else DAY_NAMES[asked_day.weekday()]
    if asked_day in hours.closed_dates:
        head = f"{label} is closed {which.lower() if which == 'Today' else 'on ' + which} for the holiday."
    else:
        head = f"{label} hours {which.lower() if which == 'Today' else 'on ' + which}: {_day_hours(hours, asked_day)}."
        if asked_day == today and is_open(hours, facts.time_zone, now):
            head += " We're open now."
    return f"{head} Our regular {label.lower()} hours: {_week(hours)}."


def _location(state, u, facts: StoreFacts, zone, now) -> str:
    where = facts.address or "our store"
    text = f"{facts.name} is at {where}."
    if facts.address:
        text += f" Directions: https://www.google.com/maps/dir/?api=1&destination={facts.address.replace(' ', '+')}"
    if facts.phone:
        text += f" Call us at {facts.phone} if you need help finding us."
    return text


def _vehicle_line(v: VehicleFact) -> str:
    colour = f"{v.color.lower()} " if v.color else ""
    line = f"{colour}{v.title} ({v.condition}, stock {v.stock_number}) — {_money(v.price)}"
    return f"{line} {v.url}" if v.url else line


def _inventory(state, u, facts: StoreFacts, zone, now) -> str:
    if not facts.vehicles:
        wanted = state.get("wanted", {})
        what = " ".join(str(wanted[k]) for k in ("color", "make", "model") if wanted.get(k)) or "that"
        return (f"I don't see a {what} in stock right now. Want me to have someone let you know when one comes "
                "in, or look at something similar?")
    remember_vehicles(state, facts.vehicles)
    shown = facts.vehicles[:3]
    if len(shown) == 1:
        return f"Yes, we have it: {_vehicle_line(shown[0])}. Would you like to take it for a test drive?"
    lines = "; ".join(_vehicle_line(v) for v in shown)
    return f"Yes, we have {len(shown)} that match: {lines}. Would you like to test drive one?"


def _price(state, u, facts: StoreFacts, zone, now) -> str:
    if facts.vehicles:
        remember_vehicles(state, facts.vehicles)
        v = facts.vehicles[0]
        return (f"The {v.title} (stock {v.stock_number}) is {_money(v.price)}. That's our current price; "
                "taxes and fees are extra. Would you like to see it in person?")
    return _inventory(state, u, facts, zone, now)


def _trade_in(state, u, facts: StoreFacts, zone, now) -> str:
    trade = state.get("trade_in", {})
    what = " ".join(str(trade[k]) for k in ("year", "make", "model") if trade.get(k))
    if facts.trade_range is None:
        return ("Happy to look at your trade! Tell me the year, make, model and mileage and I'll give you a rough "
                "range — or we can do a free appraisal in person.")
    low, high = facts.trade_range
    return (f"A {what} like yours is roughly {_money(low)}–{_money(high)} as a trade, depending on condition. "
            "That's an estimate, not an offer; a free in-person appraisal takes about 20 minutes. Want me to book one?")


def _financing(state, u, facts: StoreFacts, zone, now) -> str:
    return ("Yes, we offer financing through several lenders, and leasing on new vehicles. Your rate depends on "
            "your credit, term and down payment, so I can't promise one here — our finance team can get you "
            "pre-approved without affecting your visit. Would you like someone to follow up?")


# --------------------------------------------------------------------------- booking


def _kind(intent: str) -> tuple[str, str]:
    return ("service", "service") if intent == "service_appointment" else ("test_drive", "sales")


def _offer(state, u: Understanding, facts: StoreFacts, zone: ZoneInfo, now: datetime) -> Turn:
    kind, department = _kind(u.intent)
    offered = list(facts.free_slots[:3])
    if not offered:
        return _handoff(state, facts, "unanswered", "a time to book", lead_in="I couldn't find a free time")
    state["booking"] = {"kind": u.intent, "department": department,
                        "offered": [m.isoformat() for m in offered], "chosen": None, "confirmed": False}
    labels = [slot_label(m, zone, now) for m in offered]
    what = "a test drive" if kind == "test_drive" else "a service visit"
    vehicle = state.get("vehicle", {}).get("title") if kind == "test_drive" else None
    if vehicle:
        what += f" of the {vehicle}"
    asked = u.slots.when
    inside = asked is None or all(asked.start <= m < asked.end for m in offered)
    intro = "I can fit you in for" if inside else "That time is full; the next openings for"
    return Turn(f"{intro} {what}: {_list(labels)}. Which works best?", state)


def _list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _pick(booking: dict, u: Understanding, message: str, zone: ZoneInfo, facts: StoreFacts) -> datetime | None:
    offered = [datetime.fromisoformat(m) for m in booking["offered"]]
    lowered = message.lower()
    for word, index in ORDINALS.items():
        if re.search(rf"\b{word}\b", lowered):
            return offered[index] if -len(offered) <= index < len(offered) else None
    when = u.slots.when
    if when is not None and when.has_time:
        clock = when.clock if when.clock is not None else when.start.astimezone(zone).time()
        same_clock = [m for m in offered if m.astimezone(zone).time() == clock]
        same_day = [m for m in same_clock if m.astimezone(zone).date() == when.start.astimezone(zone).date()]
        if same_day or same_clock:
            return (same_day or same_clock)[0]
        if facts.free_slots and facts.free_slots[0] == when.start:  # a free time we did not list: fine too
            return when.start
    return None


def _contact_missing(state: dict) -> bool:
    return not state.get("name") or not (state.get("phone") or state.get("email"))


def _bare_name(message: str) -> str | None:
    """A name given alone while we wait for one: "yes, Ana Ruiz 617-555-0142" → "Ana Ruiz"."""
    text = re.sub(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", " ", message)
    text = re.sub(r"\+?[\d()\s.-]{7,}", " ", text)
    words = [w for w in re.split(r"[\s,;:!]+", text) if re.search(r"[^\W\d_]", w)]
    words = [w for w in words if w.lower().strip(".") not in NOT_NAME]
    if 1 <= len(words) <= 3 and all(NAME_WORDS.match(w) for w in words):
        return " ".join(w.strip(".").capitalize() if w.islower() else w.strip(".") for w in words)
    return None


def _continue_booking(state, booking: dict, u: Understanding, facts: StoreFacts, zone: ZoneInfo,
                      message: str, now: datetime) -> Turn | None:
    chosen = booking.get("chosen")
    if chosen is None:
        picked = _pick(booking, u, message, zone, facts)
        if picked is None:
            if u.slots.when is not None and u.intent == booking["kind"]:
                return None  # a new window: offer again
            if u.intent == "other" and u.slots.when is not None:
                return _reoffer(state, booking, facts, zone, now)
            if u.intent == "other" and not (u.slots.name or u.slots.phone or u.slots.email):
                labels = [slot_label(datetime.fromisoformat(m), zone, now) for m in booking["offered"]]
                return Turn(f"Sorry, which time would you like: {_list(labels)}? Or tell me another day.", state)
            return None
        booking["chosen"] = picked.isoformat()
        if YES.search(message) and not _contact_missing(state):
            booking["confirmed"] = True
            return _book(state, booking, facts, zone)
        label = slot_label(picked, zone, now)
        ask = ""
        if _contact_missing(state):
            ask = (" What name should I put it under?" if state.get("phone") or state.get("email")
                   else " What name and mobile number should I put it under?")
        return Turn(f"{label} — shall I book it?{ask}", state)
    if not booking.get("confirmed"):
        if NO.search(message):
            booking["chosen"] = None
            return Turn("No problem — which time would suit you better?", state)
        if not YES.search(message) and not (u.slots.name or u.slots.phone or u.slots.email):
            return None
        booking["confirmed"] = True
    if _contact_missing(state) and not state.get("name"):
        name = u.slots.name or _bare_name(message)
        if name:
            state["name"] = name
    if _contact_missing(state):
        need = "your name" if not state.get("name") else "a mobile number or email"
        if not state.get("name") and not (state.get("phone") or state.get("email")):
            need = "your name and a mobile number or email"
        return Turn(f"Great — I just need {need} to hold it.", state)
    return _book(state, booking, facts, zone)


def _reoffer(state, booking, facts: StoreFacts, zone, now: datetime) -> Turn:
    offered = list(facts.free_slots[:3])
    if not offered:
        return Turn("I don't have anything free then. Could another day work?", state)
    booking["offered"] = [m.isoformat() for m in offered]
    labels = [slot_label(m, zone, now) for m in offered]
    return Turn(f"Here's what I have: {_list(labels)}. Which works best?", state)


def _book(state, booking: dict, facts: StoreFacts, zone: ZoneInfo) -> Turn:
    at = datetime.fromisoformat(booking["chosen"])
    kind = "test_drive" if booking["kind"] == "test_drive" else "service"
    vehicle = state.get("vehicle", {}) if kind == "test_drive" else {}
    action = Book(kind=kind, department=booking["department"], at=at, name=state.get("name", ""),
                  phone=state.get("phone", ""), email=state.get("email", ""),
                  stock_number=vehicle.get("stock_number", ""))
    local = at.astimezone(zone)
    what = "test drive" + (f" of the {vehicle['title']}" if vehicle.get("title") else "") if kind == "test_drive" \
        else "service visit"
    state["booked"] = {"kind": kind, "at": at.isoformat(), "vehicle": vehicle.get("title", "")}
    state.pop("booking", None)
    first = state.get("name", "").split(" ")[0]
    where = f" at {facts.address}" if facts.address else ""
    return Turn(f"You're booked, {first}: {what} on {local.strftime('%A, %B %-d at %-I:%M %p')}{where}. "
                "See you then! Reply here if you need to change it.", state, (action,))


# --------------------------------------------------------------------------- handoff


def _handoff(state, facts: StoreFacts, reason: str, message: str, lead_in: str = "") -> Turn:
    state["handed_off"] = True
    opener = {
        "complaint": "I'm sorry about that — I'm passing this to a manager now.",
        "negotiation": "Pricing beyond our listed price is for our sales team, so I'm passing you to a person.",
        "asked_for_person": "Of course — I'm connecting you with a person.",
    }.get(reason, (lead_in or "That's a good question for our team") + ", so I'm passing it to a person.")
    when = facts.reply_by or "A person will reply shortly."
    contact = "" if not _contact_missing(state) else " What's the best name and number or email to reach you?"
    text = f"{opener} {when} They'll see everything we've talked about.{contact}"
    return Turn(text, state, (Handoff(reason=reason, asked=message[:200]),))
