"""Each measure against a world small enough to count by hand (the counts are in the comments)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from factories import RooftopFactory
from kpis.definitions import MEASURES, SECTIONS
from kpis.selectors import dashboard_build, drilldown_leads, measure_value
from rooftops.models import Role
from factories import make_staff

pytestmark = pytest.mark.django_db

MARCH_2 = date(2026, 3, 2)  # a Monday, before the US switch to daylight time (March 8, 2026)
M = timedelta(minutes=1)


def value(scope, key):
    return measure_value(scope=scope, key=key)


def test_show_rate_is_shown_over_due_excluding_cancelled(build, world):
    lead = build.lead(at=build.at(MARCH_2, 9))
    # 4 appointments due in the week: 2 shown, 1 no-show, 1 cancelled -> 2 / 3.
    build.appointment(lead=lead, at=build.at(MARCH_2, 14), status="shown", person=world.salesperson)
    build.appointment(lead=lead, at=build.at(MARCH_2 + timedelta(days=1), 14), status="shown")
    build.appointment(lead=lead, at=build.at(MARCH_2 + timedelta(days=2), 14), status="no_show")
    build.appointment(lead=lead, at=build.at(MARCH_2 + timedelta(days=3), 14), status="cancelled")
    # Not counted: a service appointment, and one in the next week.
    build.appointment(lead=lead, at=build.at(MARCH_2, 15), status="no_show", department="service")
    build.appointment(lead=lead, at=build.at(MARCH_2 + timedelta(days=7), 14), status="no_show")
    build.rebuild()
    week = build.scope(start=MARCH_2, end=MARCH_2 + timedelta(days=6))
    show_rate = value(week, "show_rate")
    assert (show_rate.numerator, show_rate.denominator) == (2, 3)
    assert show_rate.current == pytest.approx(200 / 3)
    assert value(week, "appointments_due").current == 3
    # By person: the appointment's own person counts, else the lead's owner (nobody here).
    mine = value(week.narrowed(person_id=world.salesperson.id), "show_rate")
    assert (mine.numerator, mine.denominator) == (1, 1)


def test_an_appointment_whose_time_has_not_come_is_not_due_yet(build):
    from kpis.services import rollups_rebuild

    lead = build.lead(at=build.at(MARCH_2, 9))
    build.appointment(lead=lead, at=build.at(MARCH_2, 14), status="shown")
    build.appointment(lead=lead, at=build.at(MARCH_2, 18), status="scheduled")
    # Rebuilt at 16:00 local: the 18:00 appointment is not due; at 19:00 it is (and not shown yet).
    rollups_rebuild(rooftop=build.rooftop, start=MARCH_2, end=MARCH_2, now=build.at(MARCH_2, 16))
    day = build.scope(start=MARCH_2, end=MARCH_2)
    assert value(day, "show_rate").current == 100.0
    rollups_rebuild(rooftop=build.rooftop, start=MARCH_2, end=MARCH_2, now=build.at(MARCH_2, 19))
    assert value(day, "show_rate").current == 50.0


def test_speed_to_lead_median_percentile_and_shares(build, world):
    day = MARCH_2
    # Answered after 1, 4, 6, 20 and 90 minutes; one not answered; one walk-in (never timed).
    for minutes in (1, 4, 6, 20, 90):
        build.lead(at=build.at(day, 10), answered_after=minutes * M, owner=world.salesperson)
    build.lead(at=build.at(day, 11))
    build.lead(at=build.at(day, 12), source="walk_in", answered_after=timedelta(0))
    build.rebuild()
    scope = build.scope(start=day, end=day)
    assert value(scope, "speed_median").current == pytest.approx(6.0)
    # percentile_cont(0.9) of [1, 4, 6, 20, 90]: position 3.6 -> 20 + 0.6 × 70 = 62 minutes.
    assert value(scope, "speed_p90").current == pytest.approx(62.0)
    # Shares over the 6 timed leads (5 answered + 1 not answered).
    five, fifteen, sixty = (value(scope, f"answered_{m}") for m in (5, 15, 60))
    assert (five.numerator, five.denominator) == (2, 6)
    assert (fifteen.numerator, sixty.numerator) == (3, 4)
    assert value(scope, "not_answered").current == 1
    assert value(scope, "leads_received").current == 7


def test_an_answer_at_exactly_five_minutes_is_within_five_minutes(build):
    build.lead(at=build.at(MARCH_2, 10), answered_after=5 * M)
    build.lead(at=build.at(MARCH_2, 10), answered_after=5 * M + timedelta(seconds=1))
    build.rebuild()
    scope = build.scope(start=MARCH_2, end=MARCH_2)
    within = value(scope, "answered_5")
    assert (within.numerator, within.denominator) == (1, 2)
    # The drill-down list agrees with the figure, to the second.
    assert drilldown_leads(scope=scope, measure=MEASURES["answered_5"]).count() == 1
    assert drilldown_leads(scope=scope, measure=MEASURES["speed_band_5_15"]).count() == 1


def test_exact_percentiles_agree_with_sql_percentile_cont_over_the_leads(build, world):
    import random

    from django.db import connection

    rng = random.Random(7)
    for n in range(400):
        answered = timedelta(seconds=int(rng.lognormvariate(6.5, 1.3)))
        build.lead(at=build.at(MARCH_2 + timedelta(days=n % 14), 9, n % 60), answered_after=answered,
                   source=rng.choice(["web_form", "adf", "phone"]), owner=rng.choice([world.salesperson, world.teammate]))
    build.rebuild()
    scope = build.scope(start=MARCH_2, end=MARCH_2 + timedelta(days=6))
    lo, hi = scope.bounds(scope.rooftops[0])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY floor(extract(epoch FROM "
            "first_attempt_at - created_at))) FROM leads_lead WHERE rooftop_id = %s AND created_at >= %s "
            "AND created_at < %s AND source <> 'walk_in' AND first_attempt_at IS NOT NULL",
            [build.rooftop.id, lo, hi])
        median, p90 = cursor.fetchone()[0]
    assert value(scope, "speed_median").current == pytest.approx(median / 60)
    assert value(scope, "speed_p90").current == pytest.approx(p90 / 60)
    # Breakdowns (by source, by person) take another path through SQL: exact too.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT source, percentile_cont(0.5) WITHIN GROUP (ORDER BY floor(extract(epoch FROM "
            "first_attempt_at - created_at))) FROM leads_lead WHERE rooftop_id = %s AND created_at >= %s "
            "AND created_at < %s AND first_attempt_at IS NOT NULL GROUP BY source", [build.rooftop.id, lo, hi])
        by_source = dict(cursor.fetchall())
    result = dashboard_build(scope=scope)
    speed = next(s for s in result.sections if s.section.key == "speed")
    table = next(f for f in speed.figures if f.figure.key == "speed_by_source")
    assert {row.key: pytest.approx(row.values["speed_median"].current) for row in table.rows} == {
        source: median / 60 for source, median in by_source.items()}
    # The previous period (the week before) is exact too.
    previous = value(scope.previous, "speed_median").current
    assert value(scope, "speed_median").previous == pytest.approx(previous)
    # By person, the table's median is the one a person filter gives.
    people = next(f for f in speed.figures if f.figure.key == "speed_by_person")
    for row in people.rows:
        alone = value(scope.narrowed(person_id=row.key), "speed_p90").current
        assert row.values["speed_p90"].current == pytest.approx(alone)


def test_the_funnel_counts_leads_received_in_the_period(build):
    day = MARCH_2
    # 5 leads: 2 got an appointment, 1 of them showed and bought; 1 more bought without an appointment.
    leads = [build.lead(at=build.at(day, 9 + i)) for i in range(5)]
    build.appointment(lead=leads[0], at=build.at(day + timedelta(days=2), 14), status="shown")
    leads[0].status = "sold"
    leads[0].save()
    build.appointment(lead=leads[1], at=build.at(day + timedelta(days=2), 15), status="no_show")
    leads[2].status = "sold"
    leads[2].save()
    build.rebuild()
    scope = build.scope(start=day, end=day)
    assert value(scope, "lead_to_appointment").current == pytest.approx(40.0)  # 2 / 5
    assert value(scope, "show_to_sale").current == pytest.approx(100.0)  # 1 / 1
    assert value(scope, "lead_to_sale").current == pytest.approx(40.0)  # 2 / 5
    assert [value(scope, k).current for k in ("leads_with_appointment", "leads_shown", "leads_sold")] == [2, 1, 2]
    for key, expected in (("leads_with_appointment", 2), ("leads_shown", 1), ("leads_sold", 2)):
        assert drilldown_leads(scope=scope, measure=MEASURES[key]).count() == expected


def test_local_days_follow_each_rooftops_time_zone(build, world):
    denver = world.other_rooftop  # America/Denver; world.rooftop is America/New_York
    utc = ZoneInfo("UTC")
    # 06:30 UTC on March 1 is 23:30 on February 28 in Denver and 01:30 on March 1 in New York.
    build.lead(at=datetime(2026, 3, 1, 6, 30, tzinfo=utc), rooftop=denver)
    build.lead(at=datetime(2026, 3, 1, 6, 30, tzinfo=utc))
    # 07:10 UTC on March 1 is 00:10 on March 1 in Denver.
    build.lead(at=datetime(2026, 3, 1, 7, 10, tzinfo=utc), rooftop=denver)
    build.rebuild(rooftops=[world.rooftop, denver])
    march_1 = build.scope(world.rooftop, denver, start=date(2026, 3, 1), end=date(2026, 3, 1))
    feb_28 = build.scope(world.rooftop, denver, start=date(2026, 2, 28), end=date(2026, 2, 28))
    assert value(march_1, "leads_received").current == 2
    assert value(feb_28, "leads_received").current == 1
    assert value(march_1, "leads_received").previous == 1  # the previous period is Feb 28
    assert drilldown_leads(scope=march_1, measure=MEASURES["leads_received"]).count() == 2
    assert drilldown_leads(scope=feb_28, measure=MEASURES["leads_received"]).count() == 1


def test_the_day_clocks_spring_forward_has_23_hours_and_loses_no_lead(build):
    dst = date(2026, 3, 8)  # 02:00 -> 03:00 in New York
    build.lead(at=build.at(dst, 0, 30))
    build.lead(at=build.at(dst, 23, 59))
    build.lead(at=build.at(dst + timedelta(days=1), 0, 0))  # the next local day
    build.rebuild()
    assert value(build.scope(start=dst, end=dst), "leads_received").current == 2
    assert value(build.scope(start=dst, end=dst + timedelta(days=1)), "leads_received").current == 3


def test_the_previous_period_has_the_same_length_just_before(build):
    for offset, count in ((-8, 1), (-7, 3), (-1, 1), (0, 2), (6, 1)):
        for _ in range(count):
            build.lead(at=build.at(MARCH_2 + timedelta(days=offset), 12))
    build.rebuild()
    week = build.scope(start=MARCH_2, end=MARCH_2 + timedelta(days=6))
    leads = value(week, "leads_received")
    # This week: days 0 and 6 (3 leads). Previous: Feb 23..Mar 1 = days -7..-1 (4 leads); day -8 is outside.
    assert (leads.current, leads.previous) == (3, 4)
    assert leads.change == -1


def test_source_and_person_filters_narrow_every_figure(build, world):
    build.lead(at=build.at(MARCH_2), source="adf", owner=world.salesperson, answered_after=2 * M)
    build.lead(at=build.at(MARCH_2), source="adf", owner=world.teammate, answered_after=30 * M)
    build.lead(at=build.at(MARCH_2), source="phone", owner=world.salesperson, answered_after=10 * M)
    build.lead(at=build.at(MARCH_2), source="phone")
    build.rebuild()
    scope = build.scope(start=MARCH_2, end=MARCH_2)
    assert value(scope.narrowed(source="adf"), "leads_received").current == 2
    assert value(scope.narrowed(person_id=world.salesperson.id), "leads_received").current == 2
    assert value(scope.narrowed(person_id=0), "leads_received").current == 1  # unassigned
    assert value(scope.narrowed(source="adf", person_id=world.teammate.id), "speed_median").current == 30
    mine = scope.narrowed(person_id=world.salesperson.id)
    assert value(mine, "speed_median").current == pytest.approx(6.0)  # median of 2 and 10
    assert drilldown_leads(scope=mine, measure=MEASURES["leads_received"]).count() == 2


def test_alerts_raised_claimed_acted_and_how_fast(build, world):
    at = build.at(MARCH_2, 10)
    a, b, c = build.customer(), build.customer(), build.customer()
    first = build.alert(customer=a, at=at, claimed_after=4 * M, acted_after=30 * M, claimed_by=world.bdc)
    build.alert(customer=a, at=at + 5 * M, parent=first)  # a follow-up signal: not a new alert
    build.alert(customer=b, at=at, kind="trade_in", claimed_after=10 * M, claimed_by=world.bdc)
    build.alert(customer=c, at=at, kind="trade_in", for_user=world.salesperson)
    build.rebuild()
    scope = build.scope(start=MARCH_2, end=MARCH_2)
    assert value(scope, "alerts_raised").current == 3
    claimed, acted = value(scope, "alerts_claimed"), value(scope, "alerts_acted")
    assert (claimed.numerator, claimed.denominator, acted.numerator) == (2, 3, 1)
    assert value(scope, "alert_claim_minutes").current == pytest.approx(7.0)  # median of 4 and 10
    assert value(scope, "alert_act_minutes").current == pytest.approx(30.0)
    assert value(scope.narrowed(person_id=world.salesperson.id), "alerts_raised").current == 1
    assert value(scope.narrowed(kind="trade_in"), "alerts_raised").current == 2
    assert drilldown_leads(scope=scope, measure=MEASURES["alerts_raised"]).count() == 0  # no leads yet


def test_which_alert_kinds_lead_to_appointments_and_sales(build, world):
    at = build.at(MARCH_2, 10)
    quick, late, never = build.customer(), build.customer(), build.customer()
    build.alert(customer=quick, at=at, kind="vdp_repeat")
    build.alert(customer=late, at=at, kind="vdp_repeat")
    build.alert(customer=never, at=at, kind="trade_in")
    # Within 14 days: a lead and an appointment, later sold. After 20 days: too late to credit the alert.
    lead = build.lead(at=at + timedelta(days=2), customer=quick, status="sold", sold_at=at + timedelta(days=9))
    build.appointment(lead=lead, at=at + timedelta(days=5), created_at=at + timedelta(days=3), status="shown")
    late_lead = build.lead(at=at + timedelta(days=20), customer=late)
    build.appointment(lead=late_lead, at=at + timedelta(days=22), created_at=at + timedelta(days=21))
    build.rebuild()
    scope = build.scope(start=MARCH_2, end=MARCH_2)
    result = dashboard_build(scope=scope)
    alerts = next(s for s in result.sections if s.section.key == "alerts")
    by_kind = {row.key: row.values for row in alerts.figures[0].rows}
    assert by_kind["vdp_repeat"]["alerts_to_appointment"].current == pytest.approx(50.0)
    assert by_kind["vdp_repeat"]["alerts_to_sale"].current == pytest.approx(50.0)
    assert by_kind["vdp_repeat"]["alerts_to_lead"].current == pytest.approx(50.0)
    assert by_kind["trade_in"]["alerts_to_appointment"].current == 0
    behind = drilldown_leads(scope=scope, measure=MEASURES["alerts_to_appointment"])
    assert list(behind) == [lead]


def test_the_leaderboard_counts_activity_by_who_logged_it(build, world):
    lead = build.lead(at=build.at(MARCH_2, 9), owner=world.salesperson, status="sold")
    build.appointment(lead=lead, at=build.at(MARCH_2, 15), status="shown")
    for kind, n in (("call", 3), ("text", 2), ("email", 1)):
        for i in range(n):
            build.activity(actor=world.salesperson, kind=kind, at=build.at(MARCH_2, 10, i), lead=lead)
    build.activity(actor=world.teammate, kind="call", at=build.at(MARCH_2, 11), lead=lead)
    build.activity(actor=world.teammate, kind="note", at=build.at(MARCH_2, 11), lead=lead)  # not activity
    build.rebuild()
    result = dashboard_build(scope=build.scope(start=MARCH_2, end=MARCH_2))
    people = next(s for s in result.sections if s.section.key == "people")
    rows = {row.label: row.values for row in people.figures[0].rows}
    sam, tia = rows["Sam Sales"], rows["Tia Teammate"]
    assert [sam[k].current for k in ("activity_calls", "activity_texts", "activity_emails")] == [3, 2, 1]
    assert [sam[k].current for k in ("leads_received", "leads_with_appointment", "leads_shown", "leads_sold")] == [
        1, 1, 1, 1]
    assert tia["activity_calls"].current == 1 and tia["leads_received"].current in (0, None)
    assert people.figures[0].rows[0].label == "Sam Sales"  # most sales first


def test_service_retention_is_one_definition_over_repair_orders(build):
    period = (date(2026, 3, 1), date(2026, 3, 31))
    came_back, stayed_away, too_old = build.customer(), build.customer(), build.customer()
    also_due = build.customer()
    build.repair_order(customer=came_back, opened=build.at(date(2025, 9, 1)), closed=build.at(date(2025, 9, 2)))
    build.repair_order(customer=came_back, opened=build.at(date(2026, 3, 10)), closed=None)
    build.repair_order(customer=stayed_away, opened=build.at(date(2025, 4, 1)), closed=build.at(date(2025, 4, 2)))
    build.repair_order(customer=also_due, opened=build.at(date(2026, 2, 1)), closed=build.at(date(2026, 2, 1, )))
    build.repair_order(customer=too_old, opened=build.at(date(2024, 12, 1)), closed=build.at(date(2025, 2, 1)))
    scope = build.scope(start=period[0], end=period[1])
    retention = value(scope, "service_retention")
    assert (retention.numerator, retention.denominator) == (1, 3)
    assert retention.current == pytest.approx(100 / 3)
    # It is on the page like any other measure, with no page of its own.
    result = dashboard_build(scope=scope)
    service = next(s for s in result.sections if s.section.key == "service")
    assert [m.key for m, _ in service.cards] == ["service_retention", "equity_found", "equity_leads_worked",
                                                 "equity_leads_appointment", "equity_leads_sold", "service_to_sales"]


def test_service_to_sales_figures_count_equity_leads_by_how_far_they_got_and_sales_after_service(build):
    from customers.models import OwnedVehicle
    from service.models import VehicleOpportunity

    march = (date(2026, 3, 1), date(2026, 3, 31))
    for status in ("new", "working", "appointment_set", "sold"):
        build.lead(at=build.at(date(2026, 3, 5)), source="equity_mining", status=status,
                   sold_at=build.at(date(2026, 3, 20)) if status == "sold" else None)
    build.lead(at=build.at(date(2026, 2, 5)), source="equity_mining", status="sold")  # made before the period
    serviced, not_serviced = build.customer(), build.customer()
    build.repair_order(customer=serviced, opened=build.at(date(2025, 11, 1)), closed=build.at(date(2025, 11, 1)))
    build.lead(at=build.at(date(2026, 3, 2)), customer=serviced, status="sold", sold_at=build.at(date(2026, 3, 9)))
    build.lead(at=build.at(date(2026, 3, 2)), customer=not_serviced, status="sold", sold_at=build.at(date(2026, 3, 9)))
    for found_on in (date(2026, 3, 3), date(2026, 3, 30), date(2026, 4, 1), None):
        customer = build.customer()
        vehicle = OwnedVehicle.objects.create(customer=customer, make="Toyota", model="RAV4")
        VehicleOpportunity.unscoped.create(rooftop=build.rooftop, customer=customer, vehicle=vehicle, score=30,
                                           scanned_on=date(2026, 4, 1), found_on=found_on)
    build.rebuild()  # service to sales is read from the sales rollup
    scope = build.scope(start=march[0], end=march[1])
    assert [value(scope, f"equity_leads_{step}").current for step in ("made", "worked", "appointment", "sold")] == [
        4, 3, 2, 1]
    assert value(scope, "equity_found").current == 2
    # The equity-mining sale counts too: its customer made here had no repair order.
    assert value(scope, "service_to_sales").current == 1
    # The previous period (Jan 29 - Feb 28): the lead made in February, sold without service, nothing found.
    assert [value(scope, f"equity_leads_{step}").previous for step in ("made", "worked", "appointment", "sold")] == [
        1, 1, 1, 1]
    assert (value(scope, "equity_found").previous, value(scope, "service_to_sales").previous) == (0, 0)
    # On the page the four equity-mining steps come from one statement (they count the same leads).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        result = dashboard_build(scope=scope, sections=[s for s in SECTIONS if s.key == "service"], figures=False)
    cards = {m.key: v for s in result.sections for m, v in s.cards}
    assert [cards[f"equity_leads_{step}"].current for step in ("worked", "appointment", "sold")] == [3, 2, 1]
    assert sum("equity_mining" in q["sql"] for q in captured.captured_queries) == 1


def test_figures_never_include_another_rooftops_rows(build, world):
    build.lead(at=build.at(MARCH_2))
    build.lead(at=build.at(MARCH_2, rooftop=world.other_rooftop), rooftop=world.other_rooftop)
    build.rebuild(rooftops=[world.rooftop, world.other_rooftop])
    assert value(build.scope(start=MARCH_2, end=MARCH_2), "leads_received").current == 1
    both = build.scope(world.rooftop, world.other_rooftop, start=MARCH_2, end=MARCH_2)
    assert value(both, "leads_received").current == 2


def test_a_rebuild_is_idempotent_and_a_refresh_touches_only_recent_days(build):
    from kpis.models import LeadDay
    from kpis.services import rollups_refresh_recent

    def rows():
        return sorted(LeadDay.unscoped.values_list("is_month", "day", "leads"))

    old = build.lead(at=build.at(MARCH_2))
    build.lead(at=build.at(MARCH_2 + timedelta(days=20)))
    build.rebuild()
    before = rows()
    assert before == [(False, MARCH_2, 1), (False, MARCH_2 + timedelta(days=20), 1), (True, date(2026, 3, 1), 2)]
    build.rebuild()
    assert rows() == before
    old.delete()
    # Refreshing "today and yesterday" (as of March 22) leaves March 2 as it was until the nightly rebuild,
    # and the March month row stays the sum of March's day rows.
    rollups_refresh_recent(rooftop=build.rooftop, days=2, now=build.at(MARCH_2 + timedelta(days=20), 20))
    assert rows() == before
    build.rebuild()
    assert rows() == [(False, MARCH_2 + timedelta(days=20), 1), (True, date(2026, 3, 1), 1)]


def test_whole_months_read_from_month_rows_give_the_same_figures_as_days(build, world):
    # Leads on the first and last local day of January, February and March (and answered at known speeds).
    for n, day in enumerate([date(2026, 1, 1), date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 28),
                             date(2026, 3, 1), date(2026, 3, 31), date(2025, 12, 31), date(2026, 4, 1)]):
        build.lead(at=build.at(day, 0, 5 + n), answered_after=timedelta(minutes=n + 1), owner=world.salesperson)
    build.rebuild()
    quarter = build.scope(start=date(2026, 1, 1), end=date(2026, 3, 31))  # three whole months
    assert quarter.day_ranges_and_months(with_previous=False) == ([], [date(2026, 1, 1), date(2026, 2, 1),
                                                                       date(2026, 3, 1)])
    leads = value(quarter, "leads_received")
    assert (leads.current, leads.previous) == (6, 1)  # previous: Oct 2 .. Dec 31
    # Medians of 1..6 minutes (this quarter) from month rows, exactly.
    assert value(quarter, "speed_median").current == pytest.approx(3.5)
    assert value(quarter.narrowed(person_id=world.salesperson.id), "speed_median").current == pytest.approx(3.5)
    # A period that cuts months reads day rows at its ends and months in between.
    cut = build.scope(start=date(2026, 1, 31), end=date(2026, 3, 1))
    assert value(cut, "leads_received").current == 4
    assert drilldown_leads(scope=cut, measure=MEASURES["leads_received"]).count() == 4


def test_an_empty_period_gives_empty_figures_not_errors(build):
    scope = build.scope(start=MARCH_2, end=MARCH_2)
    assert value(scope, "speed_median").current is None
    assert value(scope, "show_rate").current is None
    assert value(scope, "leads_received").current == 0
    result = dashboard_build(scope=scope)
    assert not any(section.has_data for section in result.sections)


def test_a_new_store_manager_sees_only_the_store_they_manage():
    from kpis.forms import managed_rooftops
    from rooftops.selectors import staff_access

    store = RooftopFactory()
    manager = make_staff(store, Role.MANAGER)
    assert [r.id for r in managed_rooftops(staff_access(manager))] == [store.id]
