"""Service to sales from the sales rollup (sales by the store's local day of the sale) against the raw leads and
repair orders: a store ahead of UTC and one behind it, sales either side of local midnight at the period's
edges, repair orders just inside and just outside the year before the sale, and a period read partly from a
month row and partly from day rows."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from factories import RooftopFactory
from kpis.models import SaleDay
from kpis.selectors import measure_value
from leads.models import Lead
from service.models import RepairOrder

pytestmark = pytest.mark.django_db

START, END = date(2026, 1, 1), date(2026, 2, 2)  # January from its month row, February 1-2 from day rows
S = timedelta(seconds=1)


@pytest.fixture
def tokyo(world):
    return RooftopFactory(dealer_group=world.rooftop.dealer_group, name="Harbour Test Nissan", time_zone="Asia/Tokyo")


def _repair_order(rooftop, customer, opened):
    count = RepairOrder.unscoped.count()
    return RepairOrder.unscoped.create(rooftop=rooftop, customer=customer, ro_number=f"S{count}", opened_at=opened,
                                       closed_at=opened + timedelta(hours=3), status="closed")


def _sales(build, world, tokyo) -> None:
    for rooftop, other in ((world.rooftop, tokyo), (tokyo, world.rooftop)):
        moments = [build.at(START, 0, 0, 0, rooftop=rooftop), build.at(END, 23, 59, 59, rooftop=rooftop),
                   build.at(START + timedelta(days=14), 12, rooftop=rooftop),
                   build.at(date(2026, 2, 1), 9, rooftop=rooftop),
                   build.at(START, 0, 0, 0, rooftop=rooftop) - S,  # the previous period's last second
                   build.at(END + timedelta(days=1), 0, 0, 0, rooftop=rooftop)]  # after the period
        for i, sold_at in enumerate(moments):
            for history in ("recent", "a year and a second ago", "after the sale", "at the other store", "none"):
                customer = build.customer(rooftop)
                build.lead(at=sold_at - timedelta(days=3), rooftop=rooftop, customer=customer, status="sold",
                           sold_at=sold_at)
                if history == "recent":
                    _repair_order(rooftop, customer, sold_at - timedelta(days=100 + i))
                elif history == "a year and a second ago":
                    _repair_order(rooftop, customer, sold_at - timedelta(days=365) - S)
                elif history == "after the sale":
                    _repair_order(rooftop, customer, sold_at + S)
                elif history == "at the other store":
                    _repair_order(other, customer, sold_at - timedelta(days=10))
        # Exactly 365 days before the sale still counts; a lead that is not sold does not.
        customer = build.customer(rooftop)
        sold_at = build.at(START + timedelta(days=20), 16, rooftop=rooftop)
        build.lead(at=sold_at - timedelta(days=3), rooftop=rooftop, customer=customer, status="sold", sold_at=sold_at)
        _repair_order(rooftop, customer, sold_at - timedelta(days=365))
        build.lead(at=sold_at, rooftop=rooftop, customer=customer, status="working")
    build.rebuild(start=date(2025, 11, 1), end=date(2026, 2, 28), rooftops=[world.rooftop, tokyo])


def _raw(rooftops, start: date, end: date) -> int:
    """Sales in those local days whose customer had a repair order at the same store in the 365 days before."""
    found = 0
    for lead in Lead.unscoped.filter(rooftop__in=rooftops, status="sold"):
        local_day = lead.sold_at.astimezone(ZoneInfo(lead.rooftop.time_zone)).date()
        if start <= local_day <= end and RepairOrder.unscoped.filter(
                rooftop=lead.rooftop, customer=lead.customer, opened_at__lt=lead.sold_at,
                opened_at__gte=lead.sold_at - timedelta(days=365)).exists():
            found += 1
    return found


def test_service_to_sales_from_the_rollup_equals_the_count_over_leads_and_repair_orders(build, world, tokyo):
    _sales(build, world, tokyo)
    both = build.scope(world.rooftop, tokyo, start=START, end=END)
    value = measure_value(scope=both, key="service_to_sales")
    # Per store: the 4 sales in the period serviced recently, and the one serviced exactly a year before.
    assert value.current == _raw([world.rooftop, tokyo], START, END) == 2 * (4 + 1)
    assert value.previous == _raw([world.rooftop, tokyo], START - timedelta(days=33), START - timedelta(days=1)) == 2
    # One store, ahead of UTC, and a period whose last day ends just before a sale at local midnight.
    alone = build.scope(tokyo, start=START, end=END - timedelta(days=1))
    assert measure_value(scope=alone, key="service_to_sales").current == _raw([tokyo], START, END - timedelta(days=1))
    assert SaleDay.unscoped.filter(is_month=True, day=START).exists()  # January was read from its month row


def test_service_to_sales_is_not_narrowed_by_source_or_person_filters(build, world, tokyo):
    _sales(build, world, tokyo)
    plain = build.scope(world.rooftop, start=START, end=END)
    filtered = build.scope(world.rooftop, start=START, end=END, source="adf", person_id=world.salesperson.id)
    assert measure_value(scope=filtered, key="service_to_sales") == measure_value(scope=plain, key="service_to_sales")
