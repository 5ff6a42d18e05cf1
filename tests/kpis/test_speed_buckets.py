"""The pure arithmetic behind speed-to-lead: buckets and exact percentiles, without a database."""

import random
import statistics

import pytest

from kpis.speed import (
    SPEED_BUCKET_COLUMNS, SPEED_BUCKET_EDGES, bucket_index, buckets_between, buckets_within, locate_rank,
    percentile_cont, percentile_rank,
)


@pytest.mark.parametrize("seconds, bucket", [(0, 0), (30, 0), (31, 1), (300, 7), (301, 8), (900, 17), (901, 18),
                                             (4 * 86400, 40), (4 * 86400 + 1, 41), (10**7, 41)])
def test_an_answer_time_falls_in_the_bucket_whose_upper_edge_includes_it(seconds, bucket):
    assert bucket_index(seconds) == bucket
    assert SPEED_BUCKET_COLUMNS[bucket] == f"speed_b{bucket:02d}"


def test_within_five_fifteen_and_sixty_minutes_are_whole_buckets():
    assert buckets_within(300) == SPEED_BUCKET_COLUMNS[:8]
    assert buckets_within(900)[-1] == SPEED_BUCKET_COLUMNS[bucket_index(900)]
    assert buckets_within(3600)[-1] == SPEED_BUCKET_COLUMNS[bucket_index(3600)]
    with pytest.raises(ValueError):
        buckets_within(301)
    assert buckets_between(300, 900) == SPEED_BUCKET_COLUMNS[bucket_index(301): bucket_index(900) + 1]
    assert buckets_between(86400, None) == SPEED_BUCKET_COLUMNS[bucket_index(86401):]
    everything = (buckets_between(0, 300) + buckets_between(300, 900) + buckets_between(900, 3600)
                  + buckets_between(3600, 14400) + buckets_between(14400, 86400) + buckets_between(86400, None))
    assert everything == SPEED_BUCKET_COLUMNS  # the chart's bands cover every bucket exactly once


@pytest.mark.parametrize("values, fraction, expected", [
    ([1, 4, 6, 20, 90], 0.5, 6), ([1, 4, 6, 20, 90], 0.9, 62), ([5], 0.9, 5), ([1, 2], 0.5, 1.5),
    ([3, 1, 2, 4], 0.0, 1), ([3, 1, 2, 4], 1.0, 4), ([], 0.5, None),
])
def test_percentile_cont_matches_the_sql_definition(values, fraction, expected):
    result = percentile_cont(values, fraction)
    assert result == (pytest.approx(expected) if expected is not None else None)


def test_percentile_cont_agrees_with_pythons_inclusive_quantiles():
    rng = random.Random(3)
    values = [rng.randint(0, 5000) for _ in range(999)]
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    assert percentile_cont(values, 0.5) == pytest.approx(deciles[4])
    assert percentile_cont(values, 0.9) == pytest.approx(deciles[8])


def test_the_ranks_of_a_percentile_are_found_inside_one_bucket():
    # 10 values in buckets [3, 0, 5, 2]: the 6th smallest is the 3rd of bucket 2.
    assert locate_rank([3, 0, 5, 2], 6) == (2, 3)
    assert locate_rank([3, 0, 5, 2], 1) == (0, 1)
    assert locate_rank([3, 0, 5, 2], 10) == (3, 2)
    with pytest.raises(ValueError):
        locate_rank([3, 0, 5, 2], 11)
    target = percentile_rank(0.9, 5)
    assert (target.lower_rank, target.upper_rank, round(target.weight, 6)) == (4, 5, 0.6)
    assert percentile_rank(0.5, 0) is None


def test_bucket_edges_are_increasing_and_include_the_answer_time_targets():
    assert list(SPEED_BUCKET_EDGES) == sorted(set(SPEED_BUCKET_EDGES))
    assert {300, 900, 3600} <= set(SPEED_BUCKET_EDGES)
