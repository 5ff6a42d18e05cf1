"""Speed to lead: the steps of one lead, and median / 90th percentile per rooftop, source and person in SQL."""

from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from factories import LeadFactory, make_customer
from leads.selectors import reroute_counts, speed_to_lead_percentiles, speed_to_lead_steps
from leads.services.actions import lead_log_activity
from leads.services.clock import lead_clocks_sweep
from leads.services.new_leads import lead_create

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
SINCE, UNTIL = T0 - timedelta(days=1), T0 + timedelta(days=30)


def _interpolated(values: list[float], fraction: float) -> float:
    """percentile_cont by hand: linear interpolation between the two nearest ranks."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def test_a_leads_steps_run_from_created_to_first_contact(world):
    lead = lead_create(rooftop=world.rooftop, source="web_form", first_name="Pat", email="p@example.com", now=T0).lead
    lead_log_activity(lead=lead, kind="call", by=lead.assigned_to, now=T0 + timedelta(minutes=4))
    lead_log_activity(lead=lead, kind="call", by=lead.assigned_to, reached=True, now=T0 + timedelta(minutes=30))
    lead.refresh_from_db()
    steps = {step.key: step.after for step in speed_to_lead_steps(lead)}
    assert steps == {"created": timedelta(0), "assigned": timedelta(0), "response": None,
                     "attempt": timedelta(minutes=4), "contact": timedelta(minutes=30)}


def test_median_and_90th_percentile_per_person_match_an_interpolation_by_hand_and_take_one_query(world):
    minutes = {world.salesperson: [1, 2, 3, 4, 5, 6, 7, 8, 9, 60], world.teammate: [10, 20, 30]}
    for person, values in minutes.items():
        for n, m in enumerate(values):
            LeadFactory(rooftop=world.rooftop, customer=make_customer(world.rooftop), assigned_to=person,
                        created_at=T0 + timedelta(hours=n), assigned_at=T0 + timedelta(hours=n, seconds=30),
                        first_attempt_at=T0 + timedelta(hours=n, minutes=m))
    # Never attempted: counts as a lead, not as a time.
    LeadFactory(rooftop=world.rooftop, customer=make_customer(world.rooftop), assigned_to=world.teammate, created_at=T0)
    with CaptureQueriesContext(connection) as queries:
        rows = {row.key: row for row in speed_to_lead_percentiles(rooftop_ids=[world.rooftop.id], since=SINCE,
                                                                  until=UNTIL, by="person")}
    assert len(queries) == 1 and "percentile_cont" in queries[0]["sql"]
    for person, values in minutes.items():
        attempt = rows[person.pk].steps["attempt"]
        assert attempt["p50"] == timedelta(minutes=_interpolated(values, 0.5))
        assert attempt["p90"] == timedelta(minutes=_interpolated(values, 0.9))
        assert attempt["n"] == len(values)
    assert rows[world.salesperson.pk].steps["attempt"]["p90"] == timedelta(minutes=14.1)  # 9 + 0.1 * (60 - 9)
    assert rows[world.teammate.pk].leads == 4
    assert rows[world.teammate.pk].steps["contact"] == {"p50": None, "p90": None, "n": 0}
    assert rows[world.teammate.pk].label == "Tia Teammate"


def test_percentiles_group_by_rooftop_and_source_and_stay_inside_the_asked_rooftops(world):
    for source, m in (("web_form", 5), ("web_form", 15), ("adf", 40)):
        LeadFactory(rooftop=world.rooftop, customer=make_customer(world.rooftop), source=source, created_at=T0,
                    first_attempt_at=T0 + timedelta(minutes=m))
    LeadFactory(rooftop=world.other_rooftop, customer=make_customer(world.other_rooftop), created_at=T0,
                first_attempt_at=T0 + timedelta(hours=9))
    by_source = {row.key: row for row in speed_to_lead_percentiles(rooftop_ids=[world.rooftop.id], since=SINCE,
                                                                   until=UNTIL, by="source")}
    assert by_source["web_form"].steps["attempt"]["p50"] == timedelta(minutes=10)
    assert by_source["adf"].steps["attempt"]["p50"] == timedelta(minutes=40)
    by_rooftop = speed_to_lead_percentiles(rooftop_ids=[world.rooftop.id, world.other_rooftop.id], since=SINCE,
                                           until=UNTIL, by="rooftop")
    assert [(row.label, row.leads) for row in by_rooftop] == [("Lakeside Test Toyota", 3), ("Summit Test Honda", 1)]


def test_reroute_counts_say_whose_leads_were_taken(world):
    lead_create(rooftop=world.rooftop, source="web_form", first_name="Pat", email="p@example.com", now=T0)
    lead_clocks_sweep(now=T0 + timedelta(minutes=15))
    counts = reroute_counts(rooftop_ids=[world.rooftop.id], since=SINCE, until=UNTIL)
    assert len(counts) == 1 and counts[0]["rerouted"] == 1 and counts[0]["escalated"] == 0
