"""The customers demo: duplicate pairs and ADF deliveries waiting for review; running it again changes nothing."""

import pytest
from django.core.management import call_command

from customers.models import Customer, DuplicateCandidate
from customers.demo import keys
from leads.models import AdfReview, Lead
from rooftops import demo

pytestmark = pytest.mark.django_db


def counts():
    return (Customer.unscoped.count(), DuplicateCandidate.unscoped.filter(status="open").count(),
            AdfReview.unscoped.filter(status="open").count(), Lead.unscoped.count())


def test_the_demo_has_duplicates_and_reviews_waiting_and_is_idempotent():
    call_command("seed_demo")
    first = counts()
    assert first[1] >= 3 and first[2] == 2
    from customers.models import Appointment

    assert Appointment.unscoped.filter(department="service", notes="demo: service lane").count() == 16
    call_command("seed_demo")
    assert counts() == first
    ctx = demo.seed_base(1)
    paths = keys(ctx)
    assert paths["lakeside-toyota"]["adf_intake_path"] == f"/intake/adf/{ctx.rooftops['lakeside-toyota'].lead_intake_token}/"
