"""factory_boy factories: each test builds the little world it needs."""

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from customers.models import Customer, CustomerEmail, CustomerPhone, CustomerRooftop
from leads.models import InventoryVehicle, Lead
from leads.vin import with_check_digit
from rooftops.models import DealerGroup, Role, Rooftop, StaffProfile, StaffRole


class DealerGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DealerGroup

    name = factory.Sequence(lambda n: f"Group {n}")
    slug = factory.Sequence(lambda n: f"group-{n}")


class RooftopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rooftop

    dealer_group = factory.SubFactory(DealerGroupFactory)
    name = factory.Sequence(lambda n: f"Store {n}")
    slug = factory.Sequence(lambda n: f"store-{n}")
    time_zone = "America/New_York"
    business_hours = factory.LazyFunction(
        lambda: {d: [["09:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")} | {"sun": []}
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}@example.test")
    email = factory.LazyAttribute(lambda u: u.username)
    first_name = factory.Sequence(lambda n: f"Staff{n}")
    password = factory.django.Password("correct-horse-battery")


def make_staff(rooftop: Rooftop, role: str = Role.SALESPERSON, **profile) -> User:
    """A user with a profile in the rooftop's group and one role at the rooftop."""
    user = UserFactory()
    StaffProfile.objects.create(
        user=user, dealer_group=rooftop.dealer_group, display_name=profile.pop("display_name", user.first_name),
        **profile,
    )
    StaffRole.objects.create(user=user, rooftop=rooftop, role=role)
    return user


def make_customer(rooftop: Rooftop, **fields) -> Customer:
    """A customer of the rooftop's group, known at that rooftop."""
    fields.setdefault("first_name", "Pat")
    fields.setdefault("last_name", "Shopper")
    customer = Customer.unscoped.create(dealer_group=rooftop.dealer_group, **fields)
    CustomerRooftop.objects.create(customer=customer, rooftop=rooftop)
    return customer


def add_contact(customer: Customer, email: str = "", phone: str = "") -> None:
    if email:
        CustomerEmail.objects.create(customer=customer, email=email, is_primary=True)
    if phone:
        CustomerPhone.objects.create(customer=customer, e164=phone, label="mobile", is_primary=True)


class InventoryVehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InventoryVehicle

    vin = factory.Sequence(lambda n: with_check_digit(f"2T3P1RFV0RC{n:06d}"))
    stock_number = factory.Sequence(lambda n: f"T{1000 + n}")
    year = 2024
    make = "Toyota"
    model = "RAV4"
    trim = "XLE"
    condition = InventoryVehicle.Condition.NEW
    price_cents = 3_450_000


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    source = Lead.Source.WEB_FORM
    created_at = factory.LazyFunction(timezone.now)
