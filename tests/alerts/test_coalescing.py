"""Scoring's coalescing decisions (alerts/coalescing.py): which drainer a shopper belongs to, when it yields."""

import pytest

from alerts.coalescing import by_shard, drainer_key, keep_draining, pending_key, shard_of


@pytest.mark.parametrize("shards", [1, 2, 4, 7])
def test_a_visitor_always_belongs_to_the_same_shard_and_every_shard_is_used(shards):
    seen = {shard_of(v, shards) for v in range(1, 200)}
    assert seen == set(range(shards))
    assert all(shard_of(v, shards) == shard_of(v, shards) for v in range(1, 200))


def test_no_shards_configured_means_one():
    assert shard_of(12345, 0) == shard_of(12345, 1) == 0


def test_a_batch_of_visitors_is_grouped_by_shard_each_visitor_once_in_the_order_given():
    assert by_shard([7, 4, 7, 2, 9, 4], 2) == {1: [7, 9], 0: [4, 2]}
    assert by_shard([], 4) == {}


def test_a_shards_pending_set_and_drainer_key_are_its_own():
    assert pending_key(0) != pending_key(1)
    assert drainer_key(0) != drainer_key(1)
    assert {pending_key(3), drainer_key(3)}.isdisjoint({pending_key(30), drainer_key(30)})


@pytest.mark.parametrize("elapsed, goes_on", [(0.0, True), (0.99, True), (1.0, False), (5.0, False)])
def test_a_drainer_hands_its_shard_on_once_its_time_is_up(elapsed, goes_on):
    assert keep_draining(started=100.0, now=100.0 + elapsed, budget=1.0) is goes_on
