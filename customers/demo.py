"""Demo data for the customer story: duplicate pairs waiting for review and ADF deliveries that need review.

Idempotent: every row is found by a fixed marker before it is made, so running it again changes nothing
(and a pair staff merged or dismissed stays that way).
"""

from __future__ import annotations

from django.db import transaction

from customers.models import Customer, CustomerEmail, CustomerPhone, CustomerRooftop
from customers.services import customer_duplicates_detect

# (how the second record differs, what makes it a duplicate)
DUPLICATE_PLANS = [
    ("nickname", "same phone"),
    ("typo", "same email"),
    ("moved-email", "similar name at the same address"),
]
NICKNAMES = {"Robert": "Bob", "William": "Bill", "Elizabeth": "Liz", "Michael": "Mike", "Jennifer": "Jen",
             "James": "Jim", "Katherine": "Kate", "Christopher": "Chris", "Daniel": "Dan", "Matthew": "Matt"}

ADF_NO_CONTACT = """<?xml version="1.0"?>
<?adf version="1.0"?>
<adf>
  <prospect status="new">
    <id sequence="1" source="AutoTrader">AT-DEMO-0001</id>
    <requestdate>{when}</requestdate>
    <vehicle interest="buy" status="new"><year>2025</year><make>Toyota</make><model>RAV4</model><trim>XLE</trim></vehicle>
    <customer>
      <contact><name part="full">Jordan Whitaker</name></contact>
      <comments>Is the blue one still available? Call me.</comments>
    </customer>
    <provider><name part="full">AutoTrader</name></provider>
  </prospect>
</adf>
"""

ADF_TRUNCATED = """<?xml version="1.0"?>
<adf>
  <prospect status="new">
    <requestdate>{when}</requestdate>
    <vehicle interest="buy"><year>2024</year><make>Toyota</make><model>Camry</model>
    <customer>
      <contact><name part="first">Priya</name><name part="last">Raman</name>
        <email>priya.raman@example.com</email><phone>617-555-0187</phone></contact>
    </customer>
  </prospect>
"""


SERVICE_LANE_MARK = "demo: service lane"


def seed(ctx) -> None:
    with transaction.atomic():
        _seed_duplicates(ctx)
        _seed_adf_reviews(ctx)
        _seed_service_appointments(ctx)


def _seed_service_appointments(ctx) -> None:
    """A morning of service appointments on the day of seeding, so the service lane has people in it."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from customers.models import Appointment, OwnedVehicle
    from rooftops.models import Role, StaffRole

    if Appointment.unscoped.filter(notes=SERVICE_LANE_MARK).exists():
        return
    rng = ctx.rng("customers-service-lane")
    for slug, rooftop in sorted(ctx.rooftops.items()):
        owners = list(OwnedVehicle.objects.filter(customer__known_at__rooftop=rooftop, customer__merged_into__isnull=True)
                      .order_by("customer_id").values_list("customer_id", flat=True).distinct()[:300])
        advisor_ids = list(StaffRole.objects.filter(rooftop=rooftop, role=Role.SERVICE_ADVISOR).values_list("user_id", flat=True))
        day = ctx.now.astimezone(ZoneInfo(rooftop.time_zone)).date()
        for n, customer_id in enumerate(rng.sample(owners, k=min(8, len(owners)))):
            when = datetime.combine(day, time(7, 30), tzinfo=ZoneInfo(rooftop.time_zone)) + timedelta(minutes=45 * n)
            Appointment.unscoped.create(
                rooftop=rooftop, customer_id=customer_id, department=Appointment.Department.SERVICE,
                kind=Appointment.Kind.SERVICE, scheduled_at=when, assigned_to_id=advisor_ids[0] if advisor_ids else None,
                notes=SERVICE_LANE_MARK, created_at=ctx.now,
            )


def _seed_duplicates(ctx) -> None:
    rooftop = ctx.rooftops["lakeside-toyota"]
    rng = ctx.rng("customers-duplicates")
    pool = list(Customer.unscoped.filter(dealer_group=ctx.group, known_at__rooftop=rooftop, merged_into__isnull=True,
                                         link_token__isnull=False).exclude(street="").order_by("id")[:400])
    if not pool:
        return
    originals = rng.sample(pool, k=min(len(DUPLICATE_PLANS), len(pool)))
    for n, (original, (variant, _why)) in enumerate(zip(originals, DUPLICATE_PLANS)):
        marker = ctx.secret(f"duplicate:{n}", 20)
        copy = Customer.unscoped.filter(link_token=marker).first()
        if copy is None:
            first = NICKNAMES.get(original.first_name, original.first_name[:-1] if len(original.first_name) > 4 else original.first_name)
            last = original.last_name
            if variant == "typo":
                first, last = original.first_name, original.last_name[:-2] + original.last_name[-1:] if len(original.last_name) > 3 else original.last_name
            copy = Customer.unscoped.create(
                dealer_group=ctx.group, first_name=first, last_name=last, street=original.street, city=original.city,
                region=original.region, postal_code=original.postal_code, time_zone=original.time_zone,
                link_token=marker, created_at=ctx.now,
            )
            CustomerRooftop.objects.create(customer=copy, rooftop=rooftop, first_seen_at=ctx.now)
            if variant == "nickname":
                phone = original.phones.first()
                if phone:
                    CustomerPhone.objects.create(customer=copy, e164=phone.e164, label="mobile", is_primary=True)
                CustomerEmail.objects.create(customer=copy, email=f"{first}.{last}.{n}@demo-mail.example".lower(), is_primary=True)
            elif variant == "typo":
                email = original.emails.first()
                if email:
                    CustomerEmail.objects.create(customer=copy, email=email.email, is_primary=True)
            else:
                CustomerEmail.objects.create(customer=copy, email=f"{first}{last}{n}@newmail.example".lower(), is_primary=True)
        customer_duplicates_detect(customer=copy)


def _seed_adf_reviews(ctx) -> None:
    from leads.intake import AdfUnreadable, adf_lead_accept
    from leads.models import AdfReview

    rooftop = ctx.rooftops["lakeside-toyota"]
    if AdfReview.unscoped.filter(rooftop=rooftop, received_via="demo").exists():
        return
    when = ctx.now.isoformat()
    adf_lead_accept(rooftop=rooftop, raw=ADF_NO_CONTACT.format(when=when), received_via="demo")
    try:
        adf_lead_accept(rooftop=rooftop, raw=ADF_TRUNCATED.format(when=when), received_via="demo")
    except AdfUnreadable:
        pass  # kept in the queue, which is the point


def keys(ctx) -> dict[str, dict[str, str]]:
    return {slug: {"adf_intake_path": f"/intake/adf/{rooftop.lead_intake_token}/"} for slug, rooftop in ctx.rooftops.items()}
