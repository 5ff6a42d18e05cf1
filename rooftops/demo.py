"""The demo dealer group: two rooftops in different time zones, staff, inventory, customers and six months
of sales and service history. Deterministic: the same seed gives the same data on any machine (dates are
relative to the day of seeding)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone as dt_timezone

from django.contrib.auth.models import User
from django.db import transaction

from customers.models import (
    Appointment, ConsentRecord, Customer, CustomerEmail, CustomerPhone, CustomerRooftop, OwnedVehicle, TimelineEntry,
)
from leads.models import InventoryVehicle, Lead, LeadStatusChange, PriceChange
from leads.vin import MODEL_YEAR_CODES, with_check_digit
from rooftops.demo_catalog import CALL_NOTES, CATALOG, COLORS, FIRST_NAMES, LAST_NAMES, LOST_REASONS, PROVIDERS, STREETS
from rooftops.models import Department, DealerGroup, Role, Rooftop, StaffProfile, StaffRole
from rooftops.services import api_token_create
from service.models import RepairOrder

GROUP_SLUG = "harbor-auto-group"
DEMO_PASSWORD = "demo-password-1"

WEEKDAY_HOURS = [["09:00", "20:00"]]
STORE_HOURS = {
    "mon": WEEKDAY_HOURS, "tue": WEEKDAY_HOURS, "wed": WEEKDAY_HOURS, "thu": WEEKDAY_HOURS,
    "fri": WEEKDAY_HOURS, "sat": [["09:00", "18:00"]], "sun": [], "closed_dates": [],
}
# Service opens earlier and closes early on Saturday, as most service lanes do.
SERVICE_HOURS = {
    "mon": [["07:00", "18:00"]], "tue": [["07:00", "18:00"]], "wed": [["07:00", "18:00"]], "thu": [["07:00", "18:00"]],
    "fri": [["07:00", "18:00"]], "sat": [["08:00", "14:00"]], "sun": [],
}
ROOFTOPS = [
    # slug, name, time zone, area codes, city, region
    ("lakeside-toyota", "Lakeside Toyota", "America/New_York", ["617", "781", "508"], "Boston", "MA"),
    ("summit-honda", "Summit Honda", "America/Denver", ["303", "720"], "Denver", "CO"),
]
STAFF = [
    # username, display name, [(rooftop slug, role)], sees whole group
    ("manager@demo.test", "Dana Whitfield", [("lakeside-toyota", Role.MANAGER), ("summit-honda", Role.MANAGER)], True),
    ("manager2@demo.test", "Raj Mehta", [("summit-honda", Role.MANAGER)], False),
    ("bdc@demo.test", "Tasha Greene", [("lakeside-toyota", Role.BDC_AGENT)], False),
    ("bdc2@demo.test", "Omar Haddad", [("summit-honda", Role.BDC_AGENT)], False),
    ("sales1@demo.test", "Maria Alvarez", [("lakeside-toyota", Role.SALESPERSON)], False),
    ("sales2@demo.test", "Dev Patel", [("lakeside-toyota", Role.SALESPERSON)], False),
    ("sales3@demo.test", "Chris Novak", [("lakeside-toyota", Role.SALESPERSON)], False),
    ("sales4@demo.test", "Jenna Brooks", [("summit-honda", Role.SALESPERSON)], False),
    ("sales5@demo.test", "Luis Ortega", [("summit-honda", Role.SALESPERSON)], False),
    ("sales6@demo.test", "Amy Chen", [("summit-honda", Role.SALESPERSON)], False),
    ("service@demo.test", "Pete Romano", [("lakeside-toyota", Role.SERVICE_ADVISOR)], False),
    ("service2@demo.test", "Keisha Ward", [("summit-honda", Role.SERVICE_ADVISOR)], False),
]
MAKES_BY_ROOFTOP = {"lakeside-toyota": {"Toyota"}, "summit-honda": {"Honda"}}


@dataclass
class DemoContext:
    """What the base seed made, handed to each app's `demo.seed(ctx)` so it can add its part."""

    seed: int
    now: datetime
    group: DealerGroup
    rooftops: dict[str, Rooftop]
    staff: dict[str, User]
    created: bool
    keys: dict[str, dict[str, str]] = field(default_factory=dict)

    def rng(self, purpose: str) -> random.Random:
        # One stream per purpose: adding data in one app never shifts another app's demo data.
        return random.Random(f"{self.seed}:{purpose}")

    def secret(self, purpose: str, length: int = 24) -> str:
        digest = hmac.new(f"crm-demo-{self.seed}".encode(), purpose.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:length]


def anchor_now() -> datetime:
    """The latest noon UTC that has passed: seeding twice on one day gives identical dates, and no demo history
    lies in the future (before noon UTC that would put today's leads after now, outside every rollup)."""
    now = datetime.now(dt_timezone.utc)
    noon = datetime.combine(now.date(), time(12, 0), tzinfo=dt_timezone.utc)
    return noon if noon <= now else noon - timedelta(days=1)


def seed_base(seed: int) -> DemoContext:
    existing = DealerGroup.objects.filter(slug=GROUP_SLUG).first()
    now = anchor_now()
    if existing is not None:
        rooftops = {r.slug: r for r in existing.rooftops.all()}
        staff = {u.username: u for u in User.objects.filter(username__in=[s[0] for s in STAFF])}
        return DemoContext(seed=seed, now=now, group=existing, rooftops=rooftops, staff=staff, created=False)
    with transaction.atomic():
        ctx = _create_base(seed, now)
    return ctx


def _create_base(seed: int, now: datetime) -> DemoContext:
    group = DealerGroup.objects.create(name="Harbor Auto Group", slug=GROUP_SLUG)
    ctx = DemoContext(seed=seed, now=now, group=group, rooftops={}, staff={}, created=True)
    for slug, name, tz, area_codes, city, region in ROOFTOPS:
        rooftop = Rooftop.objects.create(
            dealer_group=group, name=name, slug=slug, time_zone=tz, business_hours=STORE_HOURS, service_hours=SERVICE_HOURS,
            phone=f"+1{area_codes[0]}5550100", address=f"100 Auto Mile, {city}, {region}",
            website_url=f"https://www.{slug.replace('-', '')}.example",
            tracking_write_key=f"wk_{slug.split('-')[0]}_{ctx.secret('write-key:' + slug, 16)}",
            lead_intake_token=f"adf_{ctx.secret('intake:' + slug, 20)}",
        )
        for kind in Department.Kind:
            Department.objects.create(rooftop=rooftop, kind=kind, name=kind.label)
        ctx.rooftops[slug] = rooftop
    password_hash = None
    for username, display, roles, whole_group in STAFF:
        first, last = display.split(" ", 1)
        user = User(username=username, email=username, first_name=first, last_name=last)
        if password_hash is None:
            user.set_password(DEMO_PASSWORD)
            password_hash = user.password
        user.password = password_hash  # one Argon2 hash for all: seeding stays fast
        user.save()
        StaffProfile.objects.create(user=user, dealer_group=group, display_name=display, sees_whole_group=whole_group)
        for slug, role in roles:
            StaffRole.objects.create(user=user, rooftop=ctx.rooftops[slug], role=role)
        api_token_create(user=user, name="Demo token", key=demo_token_key(ctx, username))
        ctx.staff[username] = user
    _seed_inventory(ctx)
    _seed_customers_and_history(ctx)
    return ctx


def demo_token_key(ctx: DemoContext, username: str) -> str:
    return f"demo_{ctx.secret('token:' + username, 32)}"


def _vin(rng: random.Random, wmi: str, vds: str, year: int) -> str:
    serial = "".join(rng.choice("0123456789") for _ in range(6))
    plant = rng.choice("ABCDEHJKLMNPRSTUVWXYZ0123456789")
    return with_check_digit(f"{wmi}{vds}0{MODEL_YEAR_CODES[year]}{plant}{serial}")


def _seed_inventory(ctx: DemoContext) -> None:
    rng = ctx.rng("inventory")
    vehicles, price_changes = [], []
    this_year = ctx.now.year
    for slug, rooftop in ctx.rooftops.items():
        home_makes = MAKES_BY_ROOFTOP[slug]
        seen_vins = set()
        for n in range(170):
            is_new = n < 110
            choices = [c for c in CATALOG if (c[0] in home_makes) == is_new] if is_new else CATALOG
            make, model, trims, body, wmi, vds, (low, high) = rng.choice(choices)
            year = this_year if is_new and rng.random() < 0.7 else (this_year - 1 if is_new else rng.randint(this_year - 8, this_year - 1))
            vin = _vin(rng, wmi, vds, min(year, 2030))
            while vin in seen_vins:
                vin = _vin(rng, wmi, vds, min(year, 2030))
            seen_vins.add(vin)
            base = rng.randint(low, high)
            age = this_year - year
            price = base if is_new else int(base * (0.85 ** age))
            mileage = rng.randint(5, 40) if is_new else rng.randint(6000, 14000) * max(age, 1)
            stock = f"{slug[0].upper()}{'N' if is_new else 'U'}{1000 + n}"
            condition = InventoryVehicle.Condition.NEW if is_new else (
                InventoryVehicle.Condition.CPO if age <= 4 and rng.random() < 0.4 else InventoryVehicle.Condition.USED)
            status = rng.choices(
                [InventoryVehicle.Status.IN_STOCK, InventoryVehicle.Status.IN_TRANSIT, InventoryVehicle.Status.SOLD],
                [80, 8, 12])[0]
            vehicles.append(InventoryVehicle(
                rooftop=rooftop, vin=vin, stock_number=stock, year=year, make=make, model=model, trim=rng.choice(trims),
                body_style=body, exterior_color=rng.choice(COLORS), condition=condition, mileage=mileage,
                price_cents=(price // 100 * 100 - 5) * 100 if price > 1000 else price * 100, status=status,
                photo_url="", received_at=ctx.now - timedelta(days=rng.randint(1, 120)),
            ))
    InventoryVehicle.objects.bulk_create(vehicles, batch_size=500)
    for vehicle in vehicles:
        if vehicle.condition != InventoryVehicle.Condition.NEW and rng.random() < 0.3:
            old = vehicle.price_cents + rng.choice([50000, 100000, 150000])
            price_changes.append(PriceChange(vehicle=vehicle, old_price_cents=old, new_price_cents=vehicle.price_cents,
                                             changed_at=ctx.now - timedelta(days=rng.randint(1, 30))))
    PriceChange.objects.bulk_create(price_changes)


DEMO_LENDERS = ["Toyota Financial Services", "American Honda Finance", "Harbor Community Credit Union",
                "Ally Financial", "Capital One Auto Finance"]


def _seed_customers_and_history(ctx: DemoContext) -> None:
    rng = ctx.rng("customers")
    slugs = list(ctx.rooftops)
    salespeople = {
        slug: [u for u in ctx.staff.values()
               if StaffRole.objects.filter(user=u, rooftop=ctx.rooftops[slug], role=Role.SALESPERSON).exists()]
        for slug in slugs
    }
    advisors = {slug: [u for u in ctx.staff.values()
                       if StaffRole.objects.filter(user=u, rooftop=ctx.rooftops[slug], role=Role.SERVICE_ADVISOR).exists()]
                for slug in slugs}
    inventory = {slug: list(InventoryVehicle.objects.across_rooftops().filter(rooftop=ctx.rooftops[slug]).order_by("id"))
                 for slug in slugs}
    customers, emails, phones, known, consents, owned = [], [], [], [], [], []
    plans = []
    # Its own stream, so the sensitive fields added later shift none of the other demo data.
    sensitive = ctx.rng("customers:sensitive")
    for n in range(2000):
        slug = slugs[0] if rng.random() < 0.55 else slugs[1]
        rooftop = ctx.rooftops[slug]
        _, _, tz, area_codes, city, region = next(r for r in ROOFTOPS if r[0] == slug)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        created = ctx.now - timedelta(days=rng.randint(0, 180), minutes=rng.randint(0, 1439))
        customer = Customer(
            dealer_group=ctx.group, first_name=first, last_name=last,
            street=f"{rng.randint(10, 9999)} {rng.choice(STREETS)}", city=city, region=region,
            postal_code=f"{rng.randint(1000, 99999):05d}", time_zone=tz,
            preferred_contact=rng.choice(["phone", "text", "email", "text"]), created_at=created,
            link_token=ctx.secret(f"link:{n}", 20),
        )
        # About a third have a date of birth and licence on file (from a credit application or a test drive).
        birth = date(ctx.now.year - sensitive.randint(19, 78), sensitive.randint(1, 12), sensitive.randint(1, 28))
        licence = f"{sensitive.choice('ABCDEFGHJKLMNPRSTW')}{sensitive.randint(100, 999)}-{sensitive.randint(1000, 9999)}-" \
                  f"{sensitive.randint(1000, 9999)}"
        if sensitive.random() < 0.35:
            customer.date_of_birth, customer.drivers_licence_number = birth, licence
            customer.drivers_licence_state = region
        customers.append(customer)
        plans.append((customer, slug, rooftop, area_codes, created, n))
    Customer.unscoped.bulk_create(customers, batch_size=1000)

    leads, appts, timeline, status_changes, ros = [], [], [], [], []
    lead_meta = []
    for customer, slug, rooftop, area_codes, created, n in plans:
        known.append(CustomerRooftop(customer=customer, rooftop=rooftop, first_seen_at=created))
        email = f"{customer.first_name}.{customer.last_name}{n}@example.com".lower()
        emails.append(CustomerEmail(customer=customer, email=email, is_primary=True))
        phones.append(CustomerPhone(customer=customer, e164=f"+1{rng.choice(area_codes)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
                                    label="mobile", is_primary=True))
        if rng.random() < 0.7:
            consents.append(ConsentRecord(
                customer=customer, dealer_group=ctx.group, channel="sms", purpose="transactional", granted=True,
                text_shown="By checking this box I agree to receive texts about my inquiry from Harbor Auto Group. "
                           "Msg & data rates may apply. Reply STOP to opt out.",
                source="web form", recorded_at=created))
        is_service = rng.random() < 0.4
        if is_service:
            make, model, trims, *_ = rng.choice([c for c in CATALOG if c[0] in MAKES_BY_ROOFTOP[slug]])
            year = ctx.now.year - rng.randint(2, 9)
            value = rng.randint(8000, 30000) * 100
            owned.append((customer, OwnedVehicle(
                customer=customer, year=year, make=make, model=model, trim=rng.choice(trims),
                mileage=rng.randint(20000, 110000), trade_value_cents=value,
                payoff_cents=max(0, value + rng.randint(-15000, 6000) * 100) if rng.random() < 0.6 else 0,
                valued_at=ctx.now - timedelta(days=rng.randint(1, 40))), slug, rooftop))
        if is_service and rng.random() < 0.5:
            continue  # service-only customer
        for _ in range(1 if rng.random() < 0.85 else 2):
            lead_meta.append((customer, slug, rooftop, created + timedelta(days=rng.randint(0, 10))))

    CustomerRooftop.objects.bulk_create(known, batch_size=1000)
    CustomerEmail.objects.bulk_create(emails, batch_size=1000)
    CustomerPhone.objects.bulk_create(phones, batch_size=1000)
    ConsentRecord.objects.bulk_create(consents, batch_size=1000)
    for _, vehicle, _, _ in owned:
        lender, account = sensitive.choice(DEMO_LENDERS), f"{sensitive.randint(10**9, 10**10 - 1)}"
        if vehicle.payoff_cents:  # a loan on it: who holds it, and the account
            vehicle.lender, vehicle.finance_account_number = lender, account
    OwnedVehicle.objects.bulk_create([o[1] for o in owned], batch_size=1000)

    ro_number = {slug: 50000 for slug in slugs}
    for customer, vehicle, slug, rooftop in owned:
        for _ in range(rng.randint(1, 3)):
            opened = ctx.now - timedelta(days=rng.randint(0, 180), hours=rng.randint(0, 8))
            lines = rng.sample([("LOF", "Oil and filter change", 8999), ("ROT", "Tire rotation", 3999),
                                ("BRK", "Front brake pads", 32900), ("ALN", "Four-wheel alignment", 12900),
                                ("BAT", "Battery replacement", 21900), ("INS", "Multi-point inspection", 0)], k=2)
            ro_number[slug] += 1
            advisor = rng.choice(advisors[slug])
            closed = opened + timedelta(hours=rng.randint(1, 30))
            ros.append(RepairOrder(
                rooftop=rooftop, customer=customer, vehicle=vehicle, ro_number=str(ro_number[slug]), advisor=advisor,
                opened_at=opened, closed_at=closed if closed < ctx.now else None,
                status="closed" if closed < ctx.now else "open", mileage_in=vehicle.mileage,
                total_cents=sum(c for _, _, c in lines),
                lines=[{"op_code": op, "description": d, "cents": c} for op, d, c in lines]))
            timeline.append(TimelineEntry(
                customer=customer, rooftop=rooftop, department="service", kind="service_visit", occurred_at=opened,
                summary=f"Service visit: RO {ro_number[slug]} — {', '.join(d for _, d, _ in lines)} on the {vehicle}",
                actor=advisor))
    RepairOrder.objects.bulk_create(ros, batch_size=1000)

    sources = [("web_form", 30), ("adf", 35), ("phone", 15), ("walk_in", 10), ("chat", 6), ("service", 4)]
    for customer, slug, rooftop, created in lead_meta:
        if created > ctx.now:
            created = ctx.now - timedelta(minutes=rng.randint(5, 600))
        source = rng.choices([s for s, _ in sources], [w for _, w in sources])[0]
        vehicle = rng.choice(inventory[slug])
        owner = rng.choice(salespeople[slug])
        age_days = (ctx.now - created).days
        assigned_at = created + timedelta(seconds=rng.randint(5, 300))
        auto = created + timedelta(seconds=rng.randint(20, 60)) if source in ("web_form", "adf", "chat") else None
        # Speed to lead varies by person and source: a believable spread for the dashboards.
        minutes = rng.lognormvariate(2.3 if owner.username.endswith(("1@demo.test", "4@demo.test")) else 3.0, 0.9)
        attempt = created + timedelta(minutes=minutes) if source not in ("walk_in",) else created
        contact = attempt + timedelta(minutes=rng.randint(0, 240)) if rng.random() < 0.7 else None
        status = Lead.Status.WORKING
        appointment = None
        roll = rng.random()
        if contact and roll < 0.5:
            status = Lead.Status.APPOINTMENT_SET
            when = contact + timedelta(days=rng.randint(0, 5), hours=rng.randint(1, 6))
            shown = when < ctx.now and rng.random() < 0.65
            appointment = (when, "shown" if shown else ("no_show" if when < ctx.now else "scheduled"))
            if shown:
                status = Lead.Status.SOLD if rng.random() < 0.45 else Lead.Status.SHOWN
        elif age_days > 30 and roll > 0.8:
            status = Lead.Status.LOST
        if age_days < 1 and rng.random() < 0.5:
            status, attempt, contact, appointment = Lead.Status.NEW, None, None, None
        lead = Lead(
            rooftop=rooftop, customer=customer, source=source,
            provider=rng.choice(PROVIDERS) if source == "adf" else "",
            status=status, assigned_to=owner, vehicle=vehicle, created_at=created, assigned_at=assigned_at,
            first_response_at=auto, first_attempt_at=attempt, first_contact_at=contact,
            status_changed_at=created, lost_reason=rng.choice(LOST_REASONS) if status == Lead.Status.LOST else "",
            sold_at=(appointment[0] + timedelta(hours=2)) if status == Lead.Status.SOLD else None,
            trade_in={"year": 2016, "make": "Honda", "model": "Civic", "mileage": 84000} if rng.random() < 0.3 else {},
        )
        leads.append((lead, appointment, owner))
    Lead.unscoped.bulk_create([lead for lead, _, _ in leads], batch_size=1000)

    for lead, appointment, owner in leads:
        c = lead.customer
        vehicle = lead.vehicle
        timeline.append(TimelineEntry(
            customer=c, rooftop=lead.rooftop, department="sales", kind="lead", occurred_at=lead.created_at, lead=lead,
            summary=f"New {lead.get_source_display().lower()} lead{' from ' + lead.provider if lead.provider else ''}: "
                    f"{vehicle.title} (stock {vehicle.stock_number})"))
        if lead.first_attempt_at and lead.source != "walk_in":
            timeline.append(TimelineEntry(
                customer=c, rooftop=lead.rooftop, department="sales", kind="call", direction="out", lead=lead,
                occurred_at=lead.first_attempt_at, actor=owner, summary=f"Call by {owner.first_name}",
                body=rng.choice(CALL_NOTES)))
        if lead.first_contact_at and rng.random() < 0.5:
            timeline.append(TimelineEntry(
                customer=c, rooftop=lead.rooftop, department="sales", kind="note", lead=lead,
                occurred_at=lead.first_contact_at, actor=owner, summary="Note", body=rng.choice(CALL_NOTES)))
        if appointment:
            when, status = appointment
            appts.append(Appointment(
                rooftop=lead.rooftop, customer=c, lead=lead, department="sales",
                kind=rng.choice(["test_drive", "sales_visit"]), scheduled_at=when, status=status,
                assigned_to=owner, created_by=owner, created_at=lead.first_contact_at,
                status_changed_at=when if status != "scheduled" else None))
            timeline.append(TimelineEntry(
                customer=c, rooftop=lead.rooftop, department="sales", kind="appointment", lead=lead, actor=owner,
                occurred_at=lead.first_contact_at, summary=f"Appointment set for {when:%b %-d}: {vehicle.title}"))
        if lead.status != Lead.Status.NEW:
            status_changes.append(LeadStatusChange(
                lead=lead, from_status="new", to_status=lead.status, reason=lead.lost_reason,
                changed_by=owner, changed_at=lead.first_attempt_at or lead.created_at))
        if lead.status == Lead.Status.SOLD:
            timeline.append(TimelineEntry(
                customer=c, rooftop=lead.rooftop, department="sales", kind="purchase", lead=lead, actor=owner,
                occurred_at=lead.sold_at, summary=f"Bought the {vehicle.title} (stock {vehicle.stock_number})"))
    Appointment.unscoped.bulk_create(appts, batch_size=1000)
    LeadStatusChange.objects.bulk_create(status_changes, batch_size=1000)
    TimelineEntry.unscoped.bulk_create(timeline, batch_size=2000)


def describe(ctx: DemoContext) -> dict:
    return {
        "url_hint": "Log in at / with any demo login below.",
        "password": DEMO_PASSWORD,
        "logins": [
            {"username": username, "name": display, "roles": [f"{role} at {slug}" for slug, role in roles],
             "api_token": demo_token_key(ctx, username)}
            for username, display, roles, _ in STAFF
        ],
        "rooftops": {
            slug: {"name": r.name, "time_zone": r.time_zone, "tracking_write_key": r.tracking_write_key,
                   "lead_intake_token": r.lead_intake_token, **ctx.keys.get(slug, {})}
            for slug, r in sorted(ctx.rooftops.items())
        },
    }
