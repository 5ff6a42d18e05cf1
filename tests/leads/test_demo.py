"""The lead-routing demo: rules, rosters and templates at both stores, live clocks for my day, idempotent."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from leads.models import Lead, LeadClock, LeadReroute, LeadResponseTemplate, RoutingRule, SalesRosterEntry
from leads.selectors import my_day_leads
from rooftops.selectors import staff_access

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return tuple(model.unscoped.count() for model in (
        RoutingRule, SalesRosterEntry, LeadResponseTemplate, Lead, LeadClock, LeadReroute))


def test_the_demo_seeds_routing_for_both_stores_and_a_live_my_day_and_changes_nothing_when_run_again():
    call_command("seed_demo")
    first = _counts()
    assert first[0] == 2 * 6 and first[1] == 6 and first[2] == 2 * 6
    running = LeadClock.unscoped.filter(stopped_at__isnull=True, deadline_at__gt=timezone.now())
    assert running.count() == 2 * 5
    from django.contrib.auth.models import User

    maria = User.objects.get(username="sales1@demo.test")
    leads = my_day_leads(access=staff_access(maria), user=maria, now=timezone.now())
    clocks = [lead.deadline_at for lead in leads if lead.deadline_at and not lead.intent_hot]
    assert len([lead for lead in leads if lead.deadline_at]) == 4
    assert clocks == sorted(clocks)  # the closest deadline first
    assert LeadReroute.unscoped.filter(to_user=maria).count() == 1
    call_command("seed_demo")
    assert _counts() == first
