"""GET /api/kpis/: the dashboard's figures as JSON, from the same filter and builder as the page."""

from datetime import date, timedelta

import pytest

from rooftops.services import api_token_create

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 2)


@pytest.fixture
def numbers(build, world):
    leads = [build.lead(at=build.at(DAY, 10 + i), owner=world.salesperson, answered_after=timedelta(minutes=3 + i),
                        source="adf") for i in range(3)]
    build.appointment(lead=leads[0], at=build.at(DAY + timedelta(days=1), 14), status="shown")
    leads[0].status = "sold"
    leads[0].save()
    build.lead(at=build.at(DAY - timedelta(days=1), 10), owner=world.salesperson)  # the previous period
    for _ in range(5):
        build.lead(at=build.at(DAY, 9, rooftop=world.other_rooftop), rooftop=world.other_rooftop)
    build.rebuild(rooftops=[world.rooftop, world.other_rooftop])
    return leads


def _cards(sections) -> dict:
    return {c["key"]: c for s in sections for c in s["cards"]}


@pytest.mark.parametrize("params", [
    {"start": DAY.isoformat(), "end": DAY.isoformat()},
    {"start": DAY.isoformat(), "end": DAY.isoformat(), "source": "adf"},
    {"start": (DAY - timedelta(days=6)).isoformat(), "end": DAY.isoformat()},
])
def test_the_json_is_what_the_dashboard_shows_for_the_same_filters(client, world, numbers, params):
    client.force_login(world.manager)
    page = client.get("/dashboards/", params)
    api = client.get("/api/kpis/", {**params, "compare": "previous"})
    assert page.status_code == api.status_code == 200, api.json()
    shown = page.context["dashboard"]
    body = api.json()
    assert [s["key"] for s in body["sections"]] == [s.section.key for s in shown.sections]
    cards = _cards(body["sections"])
    for section in shown.sections:
        for measure, value in section.cards:
            card = cards[measure.key]
            assert (card["value"], card["previous"], card["numerator"], card["denominator"]) == pytest.approx(
                (value.current, value.previous, value.numerator, value.denominator), nan_ok=True), measure.key
        for figure, data in zip(section.figures, next(s for s in body["sections"] if s["key"] == section.section.key)[
                "figures"]):
            assert data["key"] == figure.figure.key
            assert [r["label"] for r in data["rows"]] == [r.label for r in figure.rows]
            for row, row_data in zip(figure.rows, data["rows"]):
                for key, value in row.values.items():
                    assert row_data["values"][key]["value"] == pytest.approx(value.current)
    assert body["scope"]["rooftops"] == [{"id": world.rooftop.id, "name": world.rooftop.name,
                                          "time_zone": world.rooftop.time_zone}]


def test_hand_counted_figures_and_the_comparison(client, world, numbers):
    client.force_login(world.manager)
    body = client.get("/api/kpis/", {"start": DAY.isoformat(), "end": DAY.isoformat(), "compare": "previous"}).json()
    cards = _cards(body["sections"])
    assert cards["leads_received"]["value"] == 3 and cards["leads_received"]["previous"] == 1
    assert cards["leads_received"]["change"] == 2
    assert cards["lead_to_sale"]["value"] == pytest.approx(100 / 3)
    assert body["scope"]["previous_start"] == body["scope"]["previous_end"] == (DAY - timedelta(days=1)).isoformat()
    plain = client.get("/api/kpis/", {"start": DAY.isoformat(), "end": DAY.isoformat(), "figures": "false"}).json()
    assert _cards(plain["sections"])["leads_received"]["previous"] is None
    assert all("figures" not in s for s in plain["sections"])


@pytest.mark.parametrize("params, field", [
    ({"start": "yesterday"}, "start"), ({"start": "2026-03-05", "end": "2026-03-01"}, "non_field_errors"),
    ({"source": "fax"}, "source"), ({"compare": "last_year"}, "compare"), ({"rooftop": "abc"}, "rooftop"),
    ({"preset": "forever"}, "preset"), ({"end": "2999-01-01"}, "non_field_errors"),
])
def test_bad_filters_are_400_with_a_reason(client, world, params, field):
    client.force_login(world.manager)
    response = client.get("/api/kpis/", params)
    assert response.status_code == 400 and field in response.json(), response.json()


def test_only_managers_and_only_their_stores(client, world, numbers):
    for user in (world.salesperson, world.bdc, world.outsider):
        client.force_login(user)
        assert client.get("/api/kpis/").status_code == 404
    client.force_login(world.manager)
    assert client.get("/api/kpis/", {"rooftop": world.other_rooftop.id}).status_code == 404
    _, key = api_token_create(user=world.manager, name="bi", scope="read")
    client.logout()
    assert client.get("/api/kpis/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    assert client.get("/api/kpis/").status_code in (401, 403)
