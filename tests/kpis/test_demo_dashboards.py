"""Out of the box, the demo manager's dashboards tell a story: rollups are built at seed time."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from kpis.models import ActivityDay, AlertDay, LeadDay

pytestmark = pytest.mark.django_db


def _nulls_first(row):
    # Unassigned leads (lead routing's pool) have no person: order them without comparing None to ids.
    return tuple((value is not None, value) for value in row)


def _rollup_rows():
    return (sorted(LeadDay.unscoped.values_list("rooftop_id", "day", "source", "person_id", "leads", "sold"),
                   key=_nulls_first),
            sorted(ActivityDay.unscoped.values_list("rooftop_id", "day", "person_id", "calls"), key=_nulls_first),
            AlertDay.unscoped.count())


def test_the_demo_seed_builds_rollups_once_and_a_second_run_changes_nothing(client):
    call_command("seed_demo")
    first = _rollup_rows()
    ids = sorted(LeadDay.unscoped.values_list("id", flat=True))
    assert first[0]
    call_command("seed_demo")
    assert _rollup_rows() == first
    assert sorted(LeadDay.unscoped.values_list("id", flat=True)) == ids


def test_the_demo_manager_sees_a_believable_funnel_speed_and_leaderboard(client):
    call_command("seed_demo")
    client.force_login(User.objects.get(username="manager@demo.test"))
    response = client.get("/dashboards/", {"preset": "90"})
    assert response.status_code == 200
    sections = {s.section.key: s for s in response.context["dashboard"].sections}
    cards = {m.key: v for s in sections.values() for m, v in s.cards}
    assert cards["leads_received"].current > 300
    assert 5 < cards["speed_median"].current < 60
    assert cards["speed_median"].current < cards["speed_p90"].current < 240
    funnel = [row.values[row.key].current for row in sections["funnel"].figures[0].rows]
    assert funnel[0] > funnel[1] > funnel[2] > funnel[3] > 0
    assert 40 < cards["show_rate"].current < 90
    leaderboard = sections["people"].figures[0].rows
    assert len(leaderboard) >= 6
    # The story: some people answer much faster than others.
    speed = sections["speed"].figures[2].rows
    # The pool (leads nobody has yet) has no speed of its own.
    medians = sorted(row.values["speed_median"].current for row in speed if row.values["speed_median"].current is not None)
    assert medians[-1] > 1.5 * medians[0]
