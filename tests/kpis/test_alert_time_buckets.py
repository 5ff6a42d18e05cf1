"""The alert rollups' bucketed times to claim and to act, and the by-kind grain, against the raw alerts.

The median times on the page are merged from per-bucket counts and the one bucket's sorted values (not every
alert's): they must equal percentile_cont over the raw alerts of the same local days, at a store ahead of UTC
as well as one behind it, with alerts on both sides of local midnight at the period's edges, and with the
period read partly from month rows and partly from day rows.
"""

from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from alerts.models import Alert
from factories import RooftopFactory
from kpis.models import AlertDay, AlertKindDay
from kpis.selectors import dashboard_build, measure_value
from kpis.definitions import SECTIONS
from kpis.speed import ACT_BUCKET_COLUMNS, CLAIM_BUCKET_COLUMNS, bucket_index, percentile_cont

pytestmark = pytest.mark.django_db

START, END = date(2026, 1, 1), date(2026, 2, 2)  # January from its month row, February 1-2 from day rows
S = timedelta(seconds=1)
# Seconds to claim / to act, crossing bucket edges (30 s, 5 min, 15 min, 1 h, 1 day) and their neighbours.
TIMES = [0, 29, 30, 31, 59, 299, 300, 301, 620, 899, 900, 901, 3599, 3600, 3601, 7300, 86400, 90000, 400000]


@pytest.fixture
def tokyo(world):
    return RooftopFactory(dealer_group=world.rooftop.dealer_group, name="Harbour Test Nissan", time_zone="Asia/Tokyo")


def _world_of_alerts(build, world, tokyo) -> None:
    """Alerts at two stores (New York, behind UTC; Tokyo, ahead), two kinds, inside and just outside the period."""
    for rooftop, shift in ((world.rooftop, 0), (tokyo, 7)):
        customer = build.customer(rooftop)
        days = [(START + timedelta(days=3), 10, 0, 0), (START + timedelta(days=19), 15, 30, 0), (END, 23, 59, 59),
                (START, 0, 0, 0), (date(2026, 2, 1), 8, 0, 0)]
        for i, seconds in enumerate(TIMES):
            day, hh, mm, ss = days[i % len(days)]
            at = build.at(day, hh, mm, ss, rooftop=rooftop)
            claim = TIMES[(i + shift) % len(TIMES)]
            build.alert(customer=customer, rooftop=rooftop, at=at, kind=("vdp_repeat", "trade_in_done")[i % 2],
                        claimed_after=None if i % 7 == 3 else claim * S + 0.6 * S,  # fractions floor away
                        acted_after=None if i % 3 == 2 else (seconds + claim) * S, claimed_by=world.bdc)
        # Just outside: the second after the period's last local day, the second before its first.
        for at in (build.at(END + timedelta(days=1), 0, 0, 0, rooftop=rooftop),
                   build.at(START, 0, 0, 0, rooftop=rooftop) - S):
            build.alert(customer=customer, rooftop=rooftop, at=at, claimed_after=7 * S, acted_after=11 * S,
                        claimed_by=world.bdc)
        # A follow-up grouped under an alert is not counted again.
        parent = Alert.unscoped.filter(rooftop=rooftop).order_by("id").first()
        build.alert(customer=customer, rooftop=rooftop, at=build.at(START + timedelta(days=3), 11, rooftop=rooftop),
                    claimed_after=5 * S, acted_after=5 * S, parent=parent, claimed_by=world.bdc)
    build.rebuild(start=date(2025, 11, 1), end=date(2026, 2, 28), rooftops=[world.rooftop, tokyo])


def _raw(rooftops, start: date, end: date, kind: str | None = None) -> dict:
    """Raised, and every claim and act time in whole seconds, of the top-level alerts of those local days."""
    claims, acts, raised = [], [], 0
    for alert in Alert.unscoped.filter(rooftop__in=rooftops, parent__isnull=True):
        local_day = alert.created_at.astimezone(ZoneInfo(alert.rooftop.time_zone)).date()
        if not start <= local_day <= end or (kind and alert.kind != kind):
            continue
        raised += 1
        if alert.claimed_at:
            claims.append(max(0, int((alert.claimed_at - alert.created_at).total_seconds() // 1)))
        if alert.acted_at:
            acts.append(max(0, int((alert.acted_at - alert.created_at).total_seconds() // 1)))
    return {"raised": raised, "claim": claims, "act": acts}


def _minutes(values, fraction=0.5):
    found = percentile_cont(values, fraction)
    return None if found is None else pytest.approx(found / 60, abs=1e-9)


def test_each_rollup_row_counts_its_times_per_bucket_with_running_totals(build, world, tokyo):
    _world_of_alerts(build, world, tokyo)
    rows = [*AlertDay.unscoped.filter(rooftop__in=[world.rooftop, tokyo]),
            *AlertKindDay.unscoped.filter(rooftop__in=[world.rooftop, tokyo])]
    assert any(r.is_month for r in rows) and any(isinstance(r, AlertKindDay) for r in rows)
    for row in rows:
        for array, columns, cum in (("claim_seconds", CLAIM_BUCKET_COLUMNS, "claim_cum"),
                                    ("act_seconds", ACT_BUCKET_COLUMNS, "act_cum")):
            values = getattr(row, array)
            counted = Counter(bucket_index(v) for v in values)
            assert [getattr(row, c) for c in columns] == [counted[i] for i in range(len(columns))], (row, array)
            running = [0]
            for column in columns:
                running.append(running[-1] + getattr(row, column))
            assert getattr(row, cum) == running and running[-1] == len(values)


def test_median_times_to_claim_and_act_equal_percentile_cont_over_the_raw_alerts(build, world, tokyo):
    _world_of_alerts(build, world, tokyo)
    stores = [world.rooftop, tokyo]
    scope = build.scope(*stores, start=START, end=END)
    now, before = _raw(stores, START, END), _raw(stores, START - timedelta(days=33), START - timedelta(days=1))
    assert now["raised"] == 2 * len(TIMES) and before["raised"] == 2  # the edges fell where they should
    assert measure_value(scope=scope, key="alerts_raised").current == now["raised"]
    claim, act = (measure_value(scope=scope, key=k) for k in ("alert_claim_minutes", "alert_act_minutes"))
    assert claim.current == _minutes(now["claim"]) and act.current == _minutes(now["act"])
    assert claim.previous == _minutes(before["claim"]) and act.previous == _minutes(before["act"])
    # One store alone, ahead of UTC, and a period that ends on a day boundary inside the alerts.
    tokyo_only = build.scope(tokyo, start=START, end=END - timedelta(days=1))
    alone = _raw([tokyo], START, END - timedelta(days=1))
    assert measure_value(scope=tokyo_only, key="alert_claim_minutes").current == _minutes(alone["claim"])
    assert measure_value(scope=tokyo_only, key="alert_act_minutes").current == _minutes(alone["act"])


def test_the_by_kind_table_reads_the_kind_grain_and_matches_the_raw_alerts(build, world, tokyo):
    _world_of_alerts(build, world, tokyo)
    stores = [world.rooftop, tokyo]
    scope = build.scope(*stores, start=START, end=END)
    result = dashboard_build(scope=scope, sections=[s for s in SECTIONS if s.key == "alerts"])
    rows = {row.key: row.values for s in result.sections for f in s.figures if f.figure.key == "alerts_by_kind"
            for row in f.rows}
    assert set(rows) == {"vdp_repeat", "trade_in_done"}
    for kind, values in rows.items():
        raw = _raw(stores, START, END, kind=kind)
        assert values["alerts_raised"].current == raw["raised"]
        assert values["alert_claim_minutes"].current == _minutes(raw["claim"])
        assert values["alert_act_minutes"].current == _minutes(raw["act"])
    # The kind grain holds the full grain's alerts, fewer rows.
    assert sum(AlertKindDay.unscoped.filter(is_month=False).values_list("raised", flat=True)) == sum(
        AlertDay.unscoped.filter(is_month=False).values_list("raised", flat=True))
