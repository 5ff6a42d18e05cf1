"""The dashboard and its htmx refresh read a fixed number of queries, whatever the number of stores: every
figure of a grain comes from one statement, and measures over base tables count both periods at every store
in one statement each. A per-store or per-figure loop creeping back in fails here, not in production."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from factories import RooftopFactory
from kpis.models import RollupState

pytestmark = pytest.mark.django_db

URL = "/dashboards/"
DAY = date(2026, 3, 2)
# The page and the refresh as of this commit (both periods, every section, every breakdown, the filter form,
# the session and the manager's access). Raise it only for a new figure, never for a loop over stores.
PAGE_QUERIES = 36
REFRESH = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "kpi-body"}


def _store_with_work(build, world, rooftop) -> None:
    """Leads from two sources (one sold after a shown appointment), a call, an alert and repair orders."""
    for i, source in enumerate(("adf", "web_form")):
        lead = build.lead(at=build.at(DAY, 10 + i, rooftop=rooftop), rooftop=rooftop, owner=world.salesperson,
                          source=source, answered_after=timedelta(minutes=4 + i),
                          status="sold" if i == 0 else "working")
        build.appointment(lead=lead, at=build.at(DAY + timedelta(days=1), 14, rooftop=rooftop),
                          status="shown" if i == 0 else "scheduled")
        build.activity(actor=world.salesperson, kind="call", at=lead.first_attempt_at, lead=lead, rooftop=rooftop)
    customer = build.customer(rooftop)
    build.alert(customer=customer, at=build.at(DAY, 9, rooftop=rooftop), rooftop=rooftop,
                claimed_after=timedelta(minutes=3), claimed_by=world.bdc)


@pytest.fixture
def group_manager(world):
    profile = world.manager.staff_profile
    profile.sees_whole_group = True
    profile.save()
    return world.manager


def _stores(world, count: int) -> list:
    extra = [RooftopFactory(dealer_group=world.rooftop.dealer_group, name=f"Count Test Store {i}",
                            time_zone="America/Chicago") for i in range(count - 2)]
    return [world.rooftop, world.other_rooftop, *extra]


def _queries(client, **headers) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, {"start": DAY.isoformat(), "end": DAY.isoformat()}, **headers)
    assert response.status_code == 200
    return len(captured)


def test_the_page_and_its_refresh_read_a_fixed_number_of_queries(client, world, build, group_manager,
                                                                  django_assert_max_num_queries):
    stores = _stores(world, 2)
    for rooftop in stores:
        _store_with_work(build, world, rooftop)
    build.rebuild(rooftops=stores)
    client.force_login(group_manager)
    client.get(URL)  # the session and login bookkeeping of a first request
    with django_assert_max_num_queries(PAGE_QUERIES):
        page = client.get(URL, {"start": DAY.isoformat(), "end": DAY.isoformat()})
    assert page.status_code == 200
    cards = {m.key: v for s in page.context["dashboard"].sections for m, v in s.cards}
    assert cards["leads_received"].current == 4  # the figures are really there: 2 stores x 2 leads
    with django_assert_max_num_queries(PAGE_QUERIES):
        refresh = client.get(URL, {"start": DAY.isoformat(), "end": DAY.isoformat()}, **REFRESH)
    assert refresh.status_code == 200 and "<html" not in refresh.content.decode()


def test_more_stores_do_not_mean_more_queries(client, world, build, group_manager):
    client.force_login(group_manager)
    client.get(URL)
    two = _stores(world, 2)
    for rooftop in two:
        _store_with_work(build, world, rooftop)
    build.rebuild(rooftops=two)
    counts_for_two = (_queries(client), _queries(client, **REFRESH))
    six = two + _stores(world, 6)[2:]
    for rooftop in six[2:]:
        _store_with_work(build, world, rooftop)
    build.rebuild(rooftops=six)
    assert RollupState.objects.filter(rooftop__in=six).count() == 6
    assert (_queries(client), _queries(client, **REFRESH)) == counts_for_two
