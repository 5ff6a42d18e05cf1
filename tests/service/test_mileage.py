"""Mileage today: the car's own pace from its readings, robust to a typo, else the US average. No database."""

from datetime import date, datetime, timedelta

import pytest

from service.mileage import DEFAULT_MILES_PER_DAY, MileageBasis, Reading, mileage_estimate

TODAY = date(2026, 3, 15)
D0 = date(2025, 1, 1)


def ro(days_after_d0: int, miles: int) -> Reading:
    return Reading(D0 + timedelta(days=days_after_d0), miles)


# 40 miles a day from 20,000 on Jan 1, 2025; the last RO is 100 days before TODAY.
STEADY = [ro(0, 20_000), ro(100, 24_000), ro(200, 28_000), ro(338, 33_520)]
LAST = D0 + timedelta(days=338)  # Dec 5, 2025


@pytest.mark.parametrize("readings, miles, rate, set_aside", [
    (STEADY, 33_520 + 40 * 100, 40.0, 0),
    # A digit dropped (2,800 for 28,000): it goes backwards, so it is set aside, not averaged in.
    ([ro(0, 20_000), ro(100, 24_000), ro(200, 2_800), ro(338, 33_520)], 33_520 + 40 * 100, 40.0, 1),
    # A digit added (280,000): it implies > 300 miles a day, and everything after it would go backwards.
    ([ro(0, 20_000), ro(100, 24_000), ro(200, 280_000), ro(338, 33_520)], 33_520 + 40 * 100, 40.0, 1),
    # The typo is the first reading: the run of three that agree still wins.
    ([ro(0, 200_000), ro(100, 24_000), ro(200, 28_000), ro(338, 33_520)], 33_520 + 40 * 100, 40.0, 1),
    # The typo is the latest reading: the estimate projects from the last trusted one instead.
    ([ro(0, 20_000), ro(100, 24_000), ro(200, 28_000), ro(338, 3_352)], 28_000 + 40 * 238, 40.0, 1),
    # Readings out of order in the input are sorted by date.
    (list(reversed(STEADY)), 33_520 + 40 * 100, 40.0, 0),
    # A parked car: its own pace is zero.
    ([ro(0, 20_000), ro(338, 20_000)], 20_000, 0.0, 0),
    # Exactly 300 miles a day is believed; 301 is not.
    ([ro(0, 20_000), ro(100, 50_000)], 50_000 + 300 * 338, 300.0, 0),
])
def test_the_cars_own_pace_from_readings_that_agree(readings, miles, rate, set_aside):
    result = mileage_estimate(today=TODAY, readings=readings)
    assert (result.basis, result.miles, result.miles_per_day) == (MileageBasis.OWN_PACE, miles, rate)
    assert (" set aside" in result.method) == bool(set_aside)
    if set_aside:
        assert f"({set_aside} reading set aside" in result.method


def test_the_method_says_how_many_readings_over_what_dates_and_from_where():
    result = mileage_estimate(today=TODAY, readings=STEADY)
    assert result.method == ("own pace: 40.0 miles a day over 4 readings from Jan 1, 2025 to Dec 5, 2025; "
                             "33,520 miles at the repair order on Dec 5, 2025 plus 100 days")
    assert result.miles_per_year == 14_600


def test_more_than_300_miles_a_day_is_a_typo():
    result = mileage_estimate(today=TODAY, readings=[ro(0, 20_000), ro(100, 50_100)])
    # Neither reading can be told from the other, so the run is one reading: the latest, at the US average.
    assert (result.basis, result.miles) == (MileageBasis.DEFAULT_PACE, 50_100 + DEFAULT_MILES_PER_DAY * 338)
    assert "(1 reading set aside" in result.method


def test_the_sale_is_a_reading_too():
    result = mileage_estimate(today=TODAY, readings=[ro(338, 13_532)], sale_on=D0, sale_mileage=12)
    assert (result.basis, result.miles, result.miles_per_day) == (MileageBasis.OWN_PACE, 13_532 + 40 * 100, 40.0)
    assert "over 2 readings from Jan 1, 2025" in result.method


@pytest.mark.parametrize("readings, sale_on, sale_mileage, miles, method", [
    # No readings since the sale: the US average from the sale.
    ([], date(2025, 3, 15), 12, 12 + 37 * 365,
     "US average pace: 37 miles a day (about 13,500 a year, FHWA); 12 miles at the sale on Mar 15, 2025 "
     "plus 365 days"),
    # Readings too close together to say how the car is driven (59 days): the US average from the latest.
    ([ro(279, 30_000), ro(338, 32_000)], None, None, 32_000 + 37 * 100,
     "US average pace: 37 miles a day (about 13,500 a year, FHWA); 32,000 miles at the repair order on "
     "Dec 5, 2025 plus 100 days"),
    # A reading today.
    ([Reading(TODAY, 41_000)], None, None, 41_000,
     "US average pace: 37 miles a day (about 13,500 a year, FHWA); 41,000 miles at the repair order on "
     "Mar 15, 2026, today"),
])
def test_without_enough_readings_the_us_average_pace_is_projected(readings, sale_on, sale_mileage, miles, method):
    result = mileage_estimate(today=TODAY, readings=readings, sale_on=sale_on, sale_mileage=sale_mileage)
    assert (result.basis, result.miles, result.miles_per_day, result.method) == (
        MileageBasis.DEFAULT_PACE, miles, 37.0, method)
    assert result.miles_per_year == 13_505


def test_sixty_days_apart_is_enough_for_the_cars_own_pace():
    result = mileage_estimate(today=TODAY, readings=[ro(278, 30_000), ro(338, 33_000)])
    assert (result.basis, result.miles_per_day) == (MileageBasis.OWN_PACE, 50.0)


@pytest.mark.parametrize("readings, sale_on, sale_mileage", [
    ([], None, None),
    ([], date(2025, 3, 15), None),  # a sale date without its mileage is not a reading
    ([], None, 12),
    ([Reading(date(2026, 3, 16), 40_000)], None, None),  # after today
    ([Reading(None, 40_000)], None, None),  # type: ignore[arg-type]
    ([Reading(datetime(2025, 3, 15), 40_000)], None, None),  # type: ignore[arg-type]
    ([Reading(D0, -5)], None, None),
    ([Reading(D0, "40000")], None, None),  # type: ignore[arg-type]
    ([Reading(D0, True)], None, None),  # type: ignore[arg-type]
])
def test_no_usable_reading_is_unknown_never_an_exception(readings, sale_on, sale_mileage):
    result = mileage_estimate(today=TODAY, readings=readings, sale_on=sale_on, sale_mileage=sale_mileage)
    assert (result.basis, result.miles, result.miles_per_day, result.miles_per_year, result.method) == (
        MileageBasis.UNKNOWN, None, None, None, "unknown: no dated odometer readings on file")


def test_unusable_readings_are_counted_as_set_aside():
    result = mileage_estimate(today=TODAY, readings=[*STEADY, Reading(date(2026, 4, 1), 99_999), Reading(D0, -1)])
    assert result.miles == 33_520 + 40 * 100
    assert "(2 readings set aside: undated, after today, going backwards or more than 300 miles a day)" in result.method


def test_same_day_readings_that_differ_by_less_than_a_days_driving_both_count():
    result = mileage_estimate(today=TODAY, readings=[*STEADY, Reading(LAST, 33_530)])
    assert (result.miles, "over 5 readings" in result.method) == (33_530 + 40 * 100 + 3, True)
