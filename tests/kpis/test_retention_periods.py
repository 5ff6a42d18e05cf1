"""Service retention of the preset periods, counted by the rollup refresh (kpis.models.RetentionPeriod) and read
by the page, against the definition counted by hand and in Python over the repair orders: a store ahead of UTC
(Tokyo) beside one behind it, repair orders either side of local midnight at the period's start and end and at
the start of the trailing year, and a group whose "today" is a day ahead of one of its stores."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from factories import RooftopFactory
from kpis.definitions import _a_year_before
from kpis.forms import preset_range
from kpis.models import RetentionPeriod
from kpis.selectors import measure_value
from kpis.services import local_today, rollups_rebuild
from service.models import RepairOrder
from tests.kpis.conftest import local, scope_of

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=ZoneInfo("UTC"))  # Tokyo 21:00, the first store's morning: both June 1
START, END = preset_range("30", date(2026, 6, 1))  # May 3 .. June 1


@pytest.fixture
def tokyo(world):
    return RooftopFactory(dealer_group=world.rooftop.dealer_group, name="Harbour Test Nissan", time_zone="Asia/Tokyo")


def _order(rooftop, customer, *, opened, closed=None):
    count = RepairOrder.unscoped.count()
    return RepairOrder.unscoped.create(rooftop=rooftop, customer=customer, ro_number=f"R{count}", opened_at=opened,
                                       closed_at=closed, status="closed" if closed else "open")


def _history(build, stores) -> dict:
    """Per store: 4 customers due (c1, c3, c4, c5), 2 of them back (c1, c3); c2 closed a second too early."""
    customers = {}
    for rooftop in stores:
        year_ago = local(rooftop, _a_year_before(START), 0, 0, 0)
        lo, hi = local(rooftop, START, 0, 0, 0), local(rooftop, END + timedelta(days=1), 0, 0, 0)
        c1, c2, c3, c4, c5 = (build.customer(rooftop) for _ in range(5))
        _order(rooftop, c1, opened=year_ago - timedelta(hours=2), closed=year_ago)  # due: the trailing year's start
        _order(rooftop, c1, opened=lo)  # back: the period's first second
        _order(rooftop, c2, opened=year_ago - timedelta(hours=2), closed=year_ago - S)  # not due: a second before
        _order(rooftop, c2, opened=lo + timedelta(hours=12))
        _order(rooftop, c3, opened=lo - timedelta(hours=2), closed=lo - S)  # due: closed the last second before
        _order(rooftop, c3, opened=hi - S)  # back: the period's last second
        _order(rooftop, c4, opened=lo - timedelta(days=100), closed=lo - timedelta(days=99))  # due
        _order(rooftop, c4, opened=hi)  # not back: after the period
        _order(rooftop, c5, opened=lo - timedelta(days=200), closed=lo - timedelta(days=199))  # due, never back
        customers[rooftop.id] = (c1, c2, c3, c4, c5)
    return customers


def _by_hand(stores, start: date, end: date) -> tuple[int, int]:
    """(due, came back) over the stores, from the definition: per store, customers with a closed repair order in
    the 12 months before the period, and those of them who opened one within it (local midnights)."""
    due = back = 0
    for rooftop in stores:
        zone = ZoneInfo(rooftop.time_zone)
        lo = datetime.combine(start, datetime.min.time(), tzinfo=zone)
        hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        year_ago = datetime.combine(_a_year_before(start), datetime.min.time(), tzinfo=zone)
        orders = list(RepairOrder.unscoped.filter(rooftop=rooftop))
        due_here = {o.customer_id for o in orders if o.status == "closed" and year_ago <= o.closed_at < lo}
        back_here = {o.customer_id for o in orders if lo <= o.opened_at < hi} & due_here
        due, back = due + len(due_here), back + len(back_here)
    return due, back


def _rebuild(stores, now=NOW):
    for rooftop in stores:
        rollups_rebuild(rooftop=rooftop, start=date(2026, 5, 1), end=date(2026, 6, 2), now=now)


def _shown(scope) -> tuple[tuple[int, int], tuple[int, int] | None]:
    value = measure_value(scope=scope, key="service_retention")
    return (value.denominator, value.numerator), value.previous


def _stored(stores, start: date, end: date) -> int:
    return RetentionPeriod.unscoped.filter(rooftop__in=stores, start=start, end=end).count()


def test_a_preset_reads_the_refresh_counts_equal_to_the_definition(build, world, tokyo):
    stores = [world.rooftop, tokyo]
    _history(build, stores)
    _rebuild(stores)
    scope = scope_of(*stores, start=START, end=END)
    assert _stored(stores, START, END) == _stored(stores, scope.previous.start, scope.previous.end) == 2
    (due, back), previous = _shown(scope)
    assert (due, back) == _by_hand(stores, START, END) == (2 * 4, 2 * 2)
    prev_due, prev_back = _by_hand(stores, scope.previous.start, scope.previous.end)
    assert previous == pytest.approx(100.0 * prev_back / prev_due)
    # One store alone is its own rows.
    assert _shown(scope_of(tokyo, start=START, end=END))[0] == _by_hand([tokyo], START, END) == (4, 2)


def test_the_preset_figure_is_as_of_the_refresh_and_other_ranges_count_now(build, world, tokyo):
    stores = [world.rooftop, tokyo]
    customers = _history(build, stores)
    _rebuild(stores)
    c4 = customers[tokyo.id][3]
    _order(tokyo, c4, opened=local(tokyo, END, 9))  # c4 comes back after the refresh
    preset = scope_of(*stores, start=START, end=END)
    assert _shown(preset)[0] == (8, 4)  # the refresh's count, until the next refresh
    custom = scope_of(*stores, start=START + timedelta(days=1), end=END)  # not a preset: counted now
    # c1 is no longer due (closed a year before May 3); c4 at Tokyo counts at once.
    assert _shown(custom)[0] == _by_hand(stores, custom.start, custom.end) == (6, 3)
    assert _by_hand(stores, START, END) == (8, 5)
    _rebuild(stores)
    assert _shown(preset)[0] == (8, 5)


def test_a_group_a_day_ahead_of_one_store_still_reads_the_refresh(build, world, tokyo):
    stores = [world.rooftop, tokyo]
    _history(build, stores)
    now = datetime(2026, 6, 1, 20, 0, tzinfo=ZoneInfo("UTC"))  # Tokyo June 2, the first store still June 1
    assert local_today(tz=tokyo.time_zone, now=now) > local_today(tz=world.rooftop.time_zone, now=now)
    _rebuild(stores, now=now)
    start, end = preset_range("30", date(2026, 6, 2))  # the group's today is its latest store's
    scope = scope_of(*stores, start=start, end=end)
    assert _stored(stores, start, end) == _stored(stores, scope.previous.start, scope.previous.end) == 2
    assert _shown(scope)[0] == _by_hand(stores, start, end)
