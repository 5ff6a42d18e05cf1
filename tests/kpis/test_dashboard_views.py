"""The dashboard pages: who may see them, what the filters do, CSV exports and the leads behind a figure."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.urls import reverse

from factories import make_staff
from rooftops.models import Role

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 2)
URL = "/dashboards/"


@pytest.fixture
def numbers(build, world):
    """3 leads at the manager's store (1 sold after a shown appointment), 5 at the other store."""
    leads = [build.lead(at=build.at(DAY, 10 + i), owner=world.salesperson, answered_after=timedelta(minutes=3 + i),
                        source="adf") for i in range(3)]
    build.appointment(lead=leads[0], at=build.at(DAY + timedelta(days=1), 14), status="shown")
    leads[0].status = "sold"
    leads[0].save()
    for i in range(5):
        build.lead(at=build.at(DAY, 9, rooftop=world.other_rooftop), rooftop=world.other_rooftop)
    build.rebuild(rooftops=[world.rooftop, world.other_rooftop])
    return leads


def _query(**params):
    base = {"start": DAY.isoformat(), "end": DAY.isoformat()}
    base.update(params)
    return base


def test_the_manager_sees_every_section_with_numbers_definitions_and_charts(client, world, numbers):
    client.force_login(world.manager)
    response = client.get(URL, _query())
    assert response.status_code == 200
    page = response.content.decode()
    for title in ("Lead funnel", "Speed to lead", "Salesperson leaderboard", "Service", "Definitions"):
        assert title in page
    assert "Show rate = appointments shown ÷ appointments due, excluding cancelled" in page
    assert 'data-chart="funnel"' in page and 'id="kpi-charts"' in page
    assert "vendor/chart.js/chart.umd.min.js" in page
    cards = {m.key: v for s in response.context["dashboard"].sections for m, v in s.cards}
    assert cards["leads_received"].current == 3  # not the other store's 5
    assert cards["lead_to_sale"].current == pytest.approx(100 / 3)


def test_a_salesperson_and_a_bdc_agent_get_a_404(client, world, numbers):
    for user in (world.salesperson, world.bdc, world.advisor):
        client.force_login(user)
        assert client.get(URL).status_code == 404
        assert client.get(reverse("kpi-export")).status_code == 404
        assert client.get(reverse("kpi-leads"), {"measure": "leads_received"}).status_code == 404


def test_the_other_stores_people_cannot_see_this_stores_numbers(client, world, numbers):
    client.force_login(world.outsider)  # a salesperson at the other store
    assert client.get(URL).status_code == 404
    other_manager = make_staff(world.other_rooftop, Role.MANAGER)
    client.force_login(other_manager)
    own = client.get(URL, _query())
    assert own.status_code == 200
    cards = {m.key: v for s in own.context["dashboard"].sections for m, v in s.cards}
    assert cards["leads_received"].current == 5
    assert [r.id for r in own.context["scope"].rooftops] == [world.other_rooftop.id]
    # Asking for this store's numbers is the same 404 as asking for a store that does not exist.
    assert client.get(URL, _query(rooftop=world.rooftop.id)).status_code == 404
    assert client.get(URL, _query(rooftop=10**8)).status_code == 404
    assert client.get(reverse("kpi-export"), _query(rooftop=world.rooftop.id)).status_code == 404
    assert client.get(reverse("kpi-leads"), _query(rooftop=world.rooftop.id, measure="leads_received")).status_code == 404


def test_a_manager_granted_the_group_sees_both_stores_and_can_pick_one(client, world, numbers):
    profile = world.manager.staff_profile
    profile.sees_whole_group = True
    profile.save()
    client.force_login(world.manager)
    both = client.get(URL, _query())
    cards = {m.key: v for s in both.context["dashboard"].sections for m, v in s.cards}
    assert cards["leads_received"].current == 8
    assert "By rooftop" in both.content.decode()
    other = client.get(URL, _query(rooftop=world.other_rooftop.id))
    assert {m.key: v for s in other.context["dashboard"].sections for m, v in s.cards}["leads_received"].current == 5


def test_anonymous_visitors_are_sent_to_log_in(client):
    for url in (URL, reverse("kpi-export"), reverse("kpi-leads")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_filter_form_answers_htmx_with_the_body_only(client, world, numbers):
    client.force_login(world.manager)
    response = client.get(URL, _query(source="adf"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="kpi-body")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page and "kpi-filters" in page and "Lead funnel" in page


def test_bad_filters_are_a_400_with_the_reason(client, world, numbers):
    client.force_login(world.manager)
    backwards = client.get(URL, {"start": "2026-03-05", "end": "2026-03-01"})
    assert backwards.status_code == 400
    assert "ends before it starts" in backwards.content.decode()
    assert client.get(URL, {"start": "not-a-date"}).status_code == 400
    future = client.get(URL, {"end": (date.today() + timedelta(days=3)).isoformat()})
    assert future.status_code == 400 and "cannot end after today" in future.content.decode()
    assert client.get(URL, {"source": "carrier_pigeon"}).status_code == 400
    assert client.get(URL, {"start": "2020-01-01", "end": "2026-03-01"}).status_code == 400
    assert client.get(reverse("kpi-export"), _query(figure="nope")).status_code == 400
    assert client.get(reverse("kpi-leads"), _query(measure="nope")).status_code == 400
    assert client.get(reverse("kpi-leads"), _query(measure="service_retention")).status_code == 400


def test_presets_pick_the_period_in_the_stores_local_days(client, world):
    client.force_login(world.manager)
    response = client.get(URL, {"preset": "7"})
    scope = response.context["scope"]
    assert scope.days == 7 and response.context["form"]["start"].value() == scope.start.isoformat()
    assert client.get(URL).context["scope"].days == 30


def test_the_empty_state_says_so(client, world):
    client.force_login(world.manager)
    page = client.get(URL, _query()).content.decode()
    assert "No data in this period." in page
    assert "No alerts were raised in this period." in page


def test_summary_and_figure_exports_are_csv_with_the_same_numbers(client, world, numbers):
    client.force_login(world.manager)
    response = client.get(reverse("kpi-export"), _query())
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    by_measure = {row[1]: row for row in rows[2:]}
    assert by_measure["Leads received"][2] == "3"
    assert by_measure["Lead → sale"][2] == "33.33"
    assert by_measure["Lead → sale"][6:8] == ["1", "3"]
    assert "closing ratio" in by_measure["Lead → sale"][8]
    by_source = list(csv.reader(io.StringIO(
        client.get(reverse("kpi-export"), _query(figure="funnel_by_source")).content.decode())))
    assert by_source[1][:3] == ["Source", "Leads", "Leads (previous)"]
    assert by_source[2][:2] == ["Lead provider (ADF)", "3"]


def test_a_figure_opens_to_the_leads_behind_it(client, world, numbers):
    client.force_login(world.manager)
    response = client.get(reverse("kpi-leads"), _query(measure="leads_sold"))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 1
    assert [row["lead"].id for row in response.context["rows"]] == [numbers[0].id]
    base = client.get(reverse("kpi-leads"), _query(measure="lead_to_sale", part="base"))
    assert base.context["page"].paginator.count == 3
    exported = client.get(reverse("kpi-leads"), _query(measure="leads_received", format="csv"))
    lines = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert len(lines) == 4 and lines[0][0] == "lead_id"
    # Times are shown in the store's time zone: 10:00 New York.
    assert lines[-1][1].startswith("2026-03-02T10:00:00-05:00")


def test_the_leads_list_is_paginated(client, world, build, settings):
    from kpis import conf

    for i in range(conf.DRILLDOWN_PAGE_SIZE + 5):
        build.lead(at=build.at(DAY, 8, i % 60, i // 60))
    build.rebuild()
    client.force_login(world.manager)
    first = client.get(reverse("kpi-leads"), _query(measure="leads_received"))
    assert len(first.context["rows"]) == conf.DRILLDOWN_PAGE_SIZE
    second = client.get(reverse("kpi-leads"), _query(measure="leads_received", page=2))
    assert len(second.context["rows"]) == 5
    assert "Older" in first.content.decode()


def test_table_rows_link_to_their_own_leads(client, world, numbers):
    client.force_login(world.manager)
    page = client.get(URL, _query()).content.decode()
    assert f"person={world.salesperson.id}" in page
    assert "source=adf" in page and "measure=leads_received" in page
