"""Beat's sweep task on a real Celery worker: a passed deadline is rerouted exactly once, even by two sweeps at once."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from crm.celery import app as celery_app
from leads.models import Lead, LeadClock, LeadReroute
from leads.services.new_leads import lead_create
from leads.tasks import sweep_lead_clocks

pytestmark = pytest.mark.django_db(transaction=True)


def _always_open(rooftop) -> None:
    # The worker judges business hours at the real time of the run; make every minute but 23:59 open.
    rooftop.business_hours = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    rooftop.save()


def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("the worker did not finish in time")


def test_a_passed_deadline_is_rerouted_once_by_the_worker_even_when_two_sweeps_run_together(world, celery_worker):
    _always_open(world.rooftop)
    now = timezone.now()
    leads = [
        lead_create(rooftop=world.rooftop, source="web_form", first_name=f"Shopper{n}", email=f"s{n}@example.com",
                    now=now - timedelta(minutes=20)).lead
        for n in range(30)
    ]
    # Every deadline passed a few minutes ago, as if beat had been down.
    LeadClock.unscoped.filter(lead__in=leads).update(deadline_at=now - timedelta(minutes=5), warn_at=None)
    # .delay() goes through the *current* Celery app; another test's throwaway app may have become current.
    celery_app.set_current()
    # Small batches make the two sweeps interleave on the same clocks instead of one taking everything.
    sweep_lead_clocks.delay(batch_size=3)
    sweep_lead_clocks.delay(batch_size=3)

    def all_moved() -> bool:
        return LeadReroute.unscoped.filter(lead__in=leads).count() >= len(leads)

    _wait_for(all_moved)
    time.sleep(1.5)  # let the slower sweep finish: it must find nothing left to do
    per_lead = {lead.pk: LeadReroute.unscoped.filter(lead=lead).count() for lead in leads}
    assert set(per_lead.values()) == {1}
    for lead in Lead.unscoped.filter(pk__in=[lead.pk for lead in leads]).select_related("clock"):
        reroute = LeadReroute.unscoped.get(lead=lead)
        assert reroute.from_user_id != reroute.to_user_id
        assert lead.assigned_to_id == reroute.to_user_id and lead.clock.hops == 1
        assert lead.clock.deadline_at > now
