import json
from datetime import datetime, timedelta, timezone

import pytest

from alerts.scoring import (
    EventFact,
    ScoringRules,
    ShopperContext,
    ShopperState,
    apply_event,
    check_idle,
    current_score,
    describe_reasons,
    priority_rank,
)

# Tuesday morning, so "since Tuesday" wording is predictable.
T0 = datetime(2024, 6, 4, 10, 0, tzinfo=timezone.utc)

RAV4 = dict(vin="2T3P1RFV0RC000001", stock_number="T1234", year=2024, make="Toyota", model="RAV4", trim="XLE")
RAV4_B = dict(vin="2T3P1RFV0RC000002", stock_number="T1235", year=2024, make="Toyota", model="RAV4", trim="LE")
RAV4_C = dict(vin="2T3P1RFV0RC000003", stock_number="T1236", year=2023, make="Toyota", model="RAV4", trim="XSE")
CAMRY = dict(vin="4T1G11AK0RU000004", stock_number="T2001", year=2024, make="Toyota", model="Camry", trim="SE")
CIVIC = dict(vin="2HGFE2F50RH000005", stock_number="H3001", year=2024, make="Honda", model="Civic", trim="EX")

EQUITY = ShopperContext(is_service_customer=True, has_positive_equity=True, equity_cents=420_000)


def at(hours=0.0, minutes=0.0, days=0.0):
    return T0 + timedelta(hours=hours, minutes=minutes, days=days)


def vdp(when, vehicle=RAV4):
    return EventFact("asc_item_pageview", when, **vehicle)


def event(kind, when, vehicle=None, **kwargs):
    return EventFact(kind, when, **(vehicle or {}), **kwargs)


def run(events, *, context=None, rules=None, state=None):
    """Feed events in order, processing each as it happens; return every update."""
    state = state or ShopperState.empty()
    updates = []
    for e in events:
        update = apply_event(state, e, rules=rules or ScoringRules(), context=context, now=e.occurred_at)
        updates.append(update)
        state = update.state
    return updates


def fired(updates):
    return [(s.kind, s.priority) for u in updates for s in u.fired]


SEQUENCES = [
    pytest.param([vdp(at(h)) for h in (0, 10, 20, 30)], [("repeat_vdp_views", "high")],
                 id="the fourth view of one vehicle within 48 hours fires repeat_vdp_views"),
    pytest.param([vdp(at(h)) for h in (0, 16, 32, 49)], [],
                 id="four views spread over 49 hours do not fire"),
    pytest.param([vdp(at(h)) for h in (0, 1, 2)], [],
                 id="three views are not yet a repeat"),
    pytest.param([vdp(at(0), RAV4), vdp(at(24), RAV4_B), vdp(at(70), RAV4_C)], [("same_model_shopping", "medium")],
                 id="three vehicles of one model within 72 hours fire same_model_shopping"),
    pytest.param([vdp(at(0), RAV4), vdp(at(40), RAV4_B), vdp(at(80), RAV4_C)], [],
                 id="three vehicles of one model across 80 hours do not fire"),
    pytest.param([vdp(at(0), RAV4), vdp(at(1), CAMRY), vdp(at(2), CIVIC)], [],
                 id="three different models do not count as same model shopping"),
    pytest.param([vdp(at(h / 20)) for h in range(20)], [("repeat_vdp_views", "high"), ("repeat_vdp_views", "urgent")],
                 id="twenty rapid views fire once and once more only when priority rises"),
    pytest.param([event("trade_in_calculator_completed", at(0), properties={"trade_value_cents": 1_150_000})],
                 [("trade_in_completed", "high")], id="a completed trade calculator fires"),
    pytest.param([event("payment_calculator_used", at(0), RAV4)], [("payment_calculator", "medium")],
                 id="using the payment calculator fires"),
    pytest.param([event("price_drop_alert_clicked", at(0), RAV4)], [("price_alert_clicked", "high")],
                 id="clicking a price drop alert fires"),
    pytest.param([event("credit_application_started", at(0))], [("credit_app_started", "urgent")],
                 id="starting a credit application is urgent"),
    pytest.param([event("asc_pageview", at(0)), event("asc_pageview", at(days=22))], [("returned_after_silence", "medium")],
                 id="a return after 22 days of silence fires"),
    pytest.param([event("asc_pageview", at(0)), event("asc_pageview", at(days=20))], [],
                 id="a return after 20 days is not silence"),
    pytest.param([event("asc_pageview", at(h)) for h in range(30)] + [event("newsletter_opened", at(31))], [],
                 id="plain browsing and unknown event kinds fire nothing"),
    pytest.param([vdp(at(h)) for h in range(4)] + [vdp(at(days=22, hours=h)) for h in range(4)],
                 [("repeat_vdp_views", "high"), ("returned_after_silence", "medium"), ("repeat_vdp_views", "high")],
                 id="a return after silence starts a new episode that can fire again"),
]


@pytest.mark.parametrize("events, expected", SEQUENCES)
def test_event_sequences_fire_the_expected_signals(events, expected):
    assert fired(run(events)) == expected


def test_the_repeat_view_reason_names_the_vehicle_stock_count_and_window():
    signal = run([vdp(at(h)) for h in range(4)])[-1].fired[0]
    assert signal.reason == "Viewed the 2024 Toyota RAV4 XLE (stock T1234) 4 times in the last 48 hours"
    assert signal.suggested_next_step == "Call now: ask if they want to see the RAV4 today"
    assert (signal.vehicle_vin, signal.vehicle_stock) == (RAV4["vin"], "T1234")
    assert signal.points == ScoringRules().signal_weights["repeat_vdp_views"]


def test_the_fifth_and_sixth_views_inside_the_cooldown_do_not_refire():
    updates = run([vdp(at(h)) for h in range(6)])
    assert [len(u.fired) for u in updates] == [0, 0, 0, 1, 0, 0]


def test_a_cooldown_prevents_an_alert_storm_from_one_vehicle():
    updates = run([vdp(at(minutes=m)) for m in range(0, 60 * 20, 30)])
    assert fired(updates).count(("repeat_vdp_views", "high")) == 1
    assert len(fired(updates)) == 2


def test_a_higher_priority_refires_inside_the_cooldown():
    updates = run([vdp(at(minutes=m)) for m in range(8)])
    assert fired(updates[:7]) == [("repeat_vdp_views", "high")]
    assert fired(updates[7:]) == [("repeat_vdp_views", "urgent")]


def test_the_same_signal_may_fire_again_once_the_cooldown_has_passed():
    updates = run([vdp(at(h)) for h in (0, 1, 2, 3, 28)])
    assert fired(updates) == [("repeat_vdp_views", "high"), ("repeat_vdp_views", "high")]


def test_cooldowns_are_kept_per_vehicle_so_a_second_vehicle_still_alerts():
    updates = run([vdp(at(h), RAV4) for h in range(4)] + [vdp(at(4 + h), CIVIC) for h in range(4)])
    assert [s.vehicle_stock for u in updates for s in u.fired] == ["T1234", "H3001"]


def test_a_zero_cooldown_fires_every_time():
    rules = ScoringRules(cooldown_minutes={"repeat_vdp_views": 0})
    assert len(fired(run([vdp(at(h)) for h in range(6)], rules=rules))) == 3


def test_the_trade_calculator_reason_gives_the_vehicle_and_dollar_amount():
    trade = event("trade_in_calculator_completed", at(1), properties={
        "trade_value_cents": 1_148_000, "trade_year": 2017, "trade_make": "Honda", "trade_model": "Civic"})
    signal = run([vdp(at(0)), trade])[-1].fired[0]
    assert signal.reason == "Finished the trade-in calculator: 2017 Honda Civic, about $11,500"
    assert "2017 Honda Civic" in signal.suggested_next_step and "RAV4" in signal.suggested_next_step


def test_the_trade_calculator_without_an_estimate_still_reads_cleanly():
    signal = run([event("trade_in_calculator_completed", at(0))])[-1].fired[0]
    assert signal.reason == "Finished the trade-in calculator"


def test_same_model_shopping_lists_the_stock_numbers_viewed():
    signal = run([vdp(at(0), RAV4), vdp(at(1), RAV4_B), vdp(at(2), RAV4_C)])[-1].fired[0]
    assert signal.reason == "Looked at 3 different Toyota RAV4 listings (stock T1236, T1235, T1234) in the last 72 hours"


def test_a_return_after_silence_says_how_long_they_were_gone():
    updates = run([event("asc_pageview", at(0)), vdp(at(days=34, hours=5))])
    signal = updates[-1].fired[0]
    assert signal.reason == "Came back after 34 days of silence and is looking at the 2024 Toyota RAV4 XLE (stock T1234)"


def test_engagement_decay_halves_after_one_half_life():
    state = run([vdp(at(0))])[-1].state
    assert current_score(state, rules=ScoringRules(), now=at(0)) == 3.0
    assert current_score(state, rules=ScoringRules(), now=at(72)) == 1.5
    assert current_score(state, rules=ScoringRules(half_life_hours=24), now=at(48)) == 0.8


def test_signal_points_decay_with_the_same_half_life():
    update = run([event("credit_application_started", at(0))])[-1]
    assert update.score == 50.0
    assert current_score(update.state, now=at(72)) == 25.0


def test_an_event_processed_late_counts_as_if_it_decayed_since_it_happened():
    late = apply_event(ShopperState.empty(), vdp(at(0)), rules=ScoringRules(), context=None, now=at(72))
    assert late.score == 1.5


def test_engagement_does_not_depend_on_arrival_order():
    events = [event("asc_pageview", at(0)), vdp(at(5)), event("payment_calculator_used", at(9)), vdp(at(30))]
    in_order, shuffled = ShopperState.empty(), ShopperState.empty()
    for e in events:
        in_order = apply_event(in_order, e, now=at(40)).state
    for e in reversed(events):
        shuffled = apply_event(shuffled, e, now=at(40)).state
    assert in_order.engagement == pytest.approx(shuffled.engagement)


def test_an_out_of_order_event_is_recorded_without_firing_a_false_return():
    state = run([event("asc_pageview", at(days=30))])[-1].state
    update = apply_event(state, vdp(at(0)), now=at(days=30, minutes=1))
    assert update.fired == ()
    assert update.state.last_event_at == at(days=30)
    assert update.state.first_event_at == at(0)


def test_a_worker_with_a_slow_clock_never_inflates_the_score():
    state = run([vdp(at(10))])[-1].state
    update = apply_event(state, event("asc_pageview", at(9)), now=at(9))
    assert update.state.updated_at == at(10)
    assert update.score <= 4.0


def test_late_views_still_count_toward_a_repeat_inside_the_window():
    state = run([vdp(at(h)) for h in (0, 2, 3)])[-1].state
    update = apply_event(state, vdp(at(1)), now=at(3, minutes=5))
    assert [s.kind for s in update.fired] == ["repeat_vdp_views"]


ENGAGED = event("asc_form_engagement", at(0), RAV4, form_type="test_drive", properties={"form_id": "td-1"})

FORM_CASES = [
    pytest.param([ENGAGED], 29, [], id="a form engaged 29 minutes ago is not yet abandoned"),
    pytest.param([ENGAGED], 31, [("form_abandoned", "high")], id="a form engaged 31 minutes ago without submission is abandoned"),
    pytest.param([ENGAGED, event("asc_form_submission", at(minutes=5), form_type="test_drive", properties={"form_id": "td-1"})],
                 31, [], id="a submitted form is not abandoned"),
    pytest.param([ENGAGED, event("asc_form_submission", at(minutes=5), form_type="test_drive")],
                 31, [], id="a submission matched by form type clears the form"),
    pytest.param([ENGAGED, event("asc_form_submission", at(minutes=5))], 31, [],
                 id="an anonymous submission clears pending forms"),
    pytest.param([ENGAGED, event("asc_form_submission", at(minutes=5), form_type="contact", properties={"form_id": "c-9"})],
                 31, [("form_abandoned", "high")], id="submitting a different form leaves the first one abandoned"),
    pytest.param([ENGAGED, event("asc_form_engagement", at(minutes=20), RAV4, form_type="test_drive", properties={"form_id": "td-1"})],
                 45, [], id="the idle clock restarts while they keep filling the form"),
    pytest.param([event("asc_form_engagement", at(0), form_type="credit_application", properties={"form_id": "cr"})],
                 31, [("form_abandoned", "urgent")], id="an abandoned credit form is urgent"),
    pytest.param([ENGAGED], 60 * 72, [], id="a form abandoned days ago is too stale to alert"),
]


@pytest.mark.parametrize("events, minutes_later, expected", FORM_CASES)
def test_check_idle_fires_form_abandoned_only_for_unsubmitted_forms(events, minutes_later, expected):
    state = run(events)[-1].state
    update = check_idle(state, rules=ScoringRules(), context=None, now=at(minutes=minutes_later))
    assert fired([update]) == expected


def test_the_abandoned_form_reason_names_the_form_vehicle_and_time():
    update = check_idle(run([ENGAGED])[-1].state, now=at(minutes=45))
    signal = update.fired[0]
    assert signal.reason == "Started the test drive form about the 2024 Toyota RAV4 XLE (stock T1234) 45 minutes ago and never submitted it"
    assert signal.vehicle_stock == "T1234"


def test_an_abandoned_form_is_reported_once_per_attempt():
    state = check_idle(run([ENGAGED])[-1].state, now=at(minutes=31)).state
    assert check_idle(state, now=at(minutes=40)).fired == ()
    assert check_idle(state, now=at(hours=6)).fired == ()


def test_a_form_submitted_then_started_again_can_be_abandoned_again():
    events = [ENGAGED, event("asc_form_submission", at(minutes=5), properties={"form_id": "td-1"}),
              event("asc_form_engagement", at(hours=6), properties={"form_id": "td-1"})]
    assert [s.kind for s in check_idle(run(events)[-1].state, now=at(hours=7)).fired] == ["form_abandoned"]


def test_a_submission_arriving_before_its_engagement_still_counts():
    events = [event("asc_form_submission", at(minutes=5), properties={"form_id": "td-1"})]
    state = run(events)[-1].state
    state = apply_event(state, ENGAGED, now=at(minutes=6)).state
    assert check_idle(state, now=at(minutes=40)).fired == ()


def test_apply_event_never_fires_form_abandoned_on_its_own():
    updates = run([ENGAGED, event("asc_pageview", at(hours=2))])
    assert fired(updates) == []


EQUITY_CASES = [
    pytest.param(None, vdp(at(0)), [], id="no context means no equity signal"),
    pytest.param(ShopperContext(is_service_customer=True), vdp(at(0)), [], id="a service customer without equity does not fire"),
    pytest.param(ShopperContext(has_positive_equity=True, equity_cents=300_000), vdp(at(0)), [],
                 id="equity without a service relationship does not fire"),
    pytest.param(EQUITY, vdp(at(0)), [("equity_shopper", "high")], id="a service customer with equity viewing a vehicle fires high"),
    pytest.param(EQUITY, event("asc_itemlist_pageview", at(0)), [("equity_shopper", "medium")],
                 id="a service customer with equity browsing results fires medium"),
    pytest.param(EQUITY, event("asc_pageview", at(0)), [], id="an equity customer reading the about page does not fire"),
    pytest.param(ShopperContext(is_service_customer=True, has_positive_equity=True, equity_cents=-50_000), vdp(at(0)), [],
                 id="negative equity never counts as positive"),
]


@pytest.mark.parametrize("context, first_event, expected", EQUITY_CASES)
def test_equity_shopper_fires_only_with_supporting_context(context, first_event, expected):
    assert fired(run([first_event], context=context)) == expected


def test_the_equity_reason_gives_the_rounded_amount():
    signal = run([vdp(at(0))], context=EQUITY)[-1].fired[0]
    assert signal.reason == ("Service customer with about $4,200 in positive equity is browsing inventory "
                             "(looking at the 2024 Toyota RAV4 XLE (stock T1234))")


def test_equity_shopper_refires_when_browsing_turns_into_a_vehicle_view():
    updates = run([event("asc_itemlist_pageview", at(0)), event("asc_itemlist_pageview", at(1)), vdp(at(2))], context=EQUITY)
    assert fired(updates) == [("equity_shopper", "medium"), ("equity_shopper", "high")]


DROP = ShopperContext(price_drops={RAV4["vin"]: (3_200_000, 3_050_000)})


def test_a_price_drop_on_a_viewed_vehicle_fires_on_the_next_event():
    updates = run([vdp(at(0)), event("asc_pageview", at(5))], context=None)
    update = apply_event(updates[-1].state, event("asc_pageview", at(6)), context=DROP, now=at(6))
    signal = update.fired[0]
    assert (signal.kind, signal.priority) == ("price_drop_on_viewed_vehicle", "medium")
    assert signal.reason == "Price dropped $1,500 (from $32,000 to $30,500) on the 2024 Toyota RAV4 XLE (stock T1234) they viewed"
    assert signal.suggested_next_step == "Call or text now: let them know the RAV4 just dropped to $30,500"


def test_a_price_drop_is_found_by_the_idle_sweep_too():
    state = run([vdp(at(0)), vdp(at(1))])[-1].state
    update = check_idle(state, context=DROP, now=at(3))
    assert fired([update]) == [("price_drop_on_viewed_vehicle", "high")]


def test_a_price_drop_on_a_vehicle_never_viewed_does_not_fire():
    state = run([vdp(at(0), CIVIC)])[-1].state
    assert check_idle(state, context=DROP, now=at(1)).fired == ()


def test_each_price_drop_is_announced_once_and_a_further_drop_announces_again():
    state = run([vdp(at(0))])[-1].state
    state = check_idle(state, context=DROP, now=at(1)).state
    assert check_idle(state, context=DROP, now=at(days=3)).fired == ()
    deeper = ShopperContext(price_drops={RAV4["vin"]: (3_050_000, 2_990_000)})
    assert [s.kind for s in check_idle(state, context=deeper, now=at(2)).fired] == ["price_drop_on_viewed_vehicle"]


def test_describe_reasons_reads_like_the_shopper_page():
    state = run([vdp(at(h)) for h in (0, 5, 9, 30)])[-1].state
    assert describe_reasons(state, now=at(days=2)) == ["viewed the 2024 Toyota RAV4 XLE, stock T1234, 4 times since Tuesday"]


def test_describe_reasons_are_newest_first_and_bounded():
    events = [vdp(at(h)) for h in range(4)] + [
        event("trade_in_calculator_completed", at(5), properties={"trade_value_cents": 900_000}),
        event("payment_calculator_used", at(6), RAV4, properties={"monthly_payment_cents": 45_000, "term_months": 72}),
        event("credit_application_started", at(7)),
    ]
    reasons = describe_reasons(run(events)[-1].state, now=at(8), limit=3)
    assert reasons == [
        "started a credit application today",
        "used the payment calculator on the 2024 Toyota RAV4 XLE (stock T1234): about $450/month for 72 months today",
        "finished the trade-in calculator (about $9,000) today",
    ]


def test_describe_reasons_drop_once_they_are_no_longer_standing():
    state = run([event("credit_application_started", at(0))])[-1].state
    assert describe_reasons(state, now=at(days=1)) == ["started a credit application yesterday"]
    assert describe_reasons(state, now=at(days=8)) == []


def test_a_quiet_repeat_still_refreshes_the_count_on_the_shopper_page():
    state = run([vdp(at(h)) for h in range(6)])[-1].state
    assert describe_reasons(state, now=at(7)) == ["viewed the 2024 Toyota RAV4 XLE, stock T1234, 6 times today"]


def test_the_trend_rises_on_activity_and_cools_when_idle():
    update = run([vdp(at(0)), event("payment_calculator_used", at(1), RAV4)])[-1]
    assert update.trend == "rising"
    assert check_idle(update.state, now=at(2)).trend == "steady"
    assert check_idle(update.state, now=at(days=3)).trend == "cooling"


def test_the_level_follows_the_hot_and_warm_thresholds():
    update = run([event("credit_application_started", at(0))])[-1]
    assert update.level == "warm"
    hot = run([event("credit_application_started", at(0))], rules=ScoringRules(hot_score=40, warm_score=20))[-1]
    assert hot.level == "hot"


def test_signals_in_one_update_are_ordered_most_urgent_first():
    state = run([vdp(at(h)) for h in range(3)], context=EQUITY)[-1].state
    update = apply_event(state, event("credit_application_started", at(3)), now=at(3))
    update = apply_event(update.state, vdp(at(4)), context=ShopperContext(
        is_service_customer=True, has_positive_equity=True, price_drops={RAV4["vin"]: (100, 90)}), now=at(4))
    ranks = [priority_rank(s.priority) for s in update.fired]
    assert ranks == sorted(ranks, reverse=True) and len(ranks) >= 2


def test_priorities_are_ordered_from_low_to_urgent():
    assert [priority_rank(p) for p in ("low", "medium", "high", "urgent")] == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="unknown priority"):
        priority_rank("critical")


def test_apply_event_does_not_mutate_the_state_it_was_given():
    state = run([vdp(at(h)) for h in range(3)])[-1].state
    before = json.dumps(state.to_dict(), sort_keys=True)
    apply_event(state, vdp(at(4)), now=at(4))
    check_idle(state, now=at(9))
    assert json.dumps(state.to_dict(), sort_keys=True) == before


def test_state_stays_bounded_after_ten_thousand_events_from_one_shopper():
    rules = ScoringRules()
    kinds = ["asc_pageview", "asc_item_pageview", "asc_itemlist_pageview", "asc_cta_interaction",
             "asc_form_engagement", "asc_form_submission", "asc_special_offer", "trade_in_calculator_completed",
             "payment_calculator_used", "price_drop_alert_subscribed", "price_drop_alert_clicked",
             "credit_application_started", "chat_started", "mystery_event", "asc_item_pageview"]
    drops = {f"VIN{n:014d}": (3_000_000, 2_900_000 - n) for n in range(0, 400, 3)}
    context = ShopperContext(is_service_customer=True, has_positive_equity=True, price_drops=drops)
    state, sizes = ShopperState.empty(), []
    for i in range(10_000):
        when = at(minutes=3 * i - (120 if i % 7 == 0 else 0))
        n = (i * 37) % 400
        e = EventFact(kinds[i % len(kinds)], when, vin=f"VIN{n:014d}", stock_number=f"S{n}", year=2020 + n % 5,
                      make=["Toyota", "Honda", "Ford"][n % 3], model=f"M{n % 4}",
                      properties={"form_id": f"f{i % 100}", "trade_value_cents": 500_000})
        state = apply_event(state, e, rules=rules, context=context, now=at(minutes=3 * i)).state
        if i % 50 == 0:
            state = check_idle(state, rules=rules, context=context, now=at(minutes=3 * i + 45)).state
        if i % 1000 == 999:
            sizes.append(len(json.dumps(state.to_dict())))
    assert state.event_count == 10_000
    assert len(state.vehicles) <= rules.max_tracked_vehicles
    assert all(len(v.views) <= rules.view_cap for v in state.vehicles.values())
    assert len(state.forms) <= rules.max_tracked_forms
    assert len(state.cooldowns) <= rules.max_cooldown_marks
    assert len(state.reasons) <= rules.max_standing_reasons
    assert max(sizes) < 40_000
    assert sizes[-1] <= 1.5 * sizes[0]


def test_shopper_state_round_trips_through_json():
    events = [vdp(at(h)) for h in range(4)] + [vdp(at(5), RAV4_B), ENGAGED,
                                                event("trade_in_calculator_completed", at(6))]
    state = run(events, context=EQUITY)[-1].state
    state = check_idle(state, context=DROP, now=at(7)).state
    restored = ShopperState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state
    assert restored.to_dict() == state.to_dict()
    nxt = vdp(at(8))
    assert apply_event(restored, nxt, now=at(8)) == apply_event(state, nxt, now=at(8))


def test_an_empty_or_missing_state_loads_as_empty():
    assert ShopperState.from_dict(None) == ShopperState.empty()
    assert ShopperState.from_dict({}) == ShopperState.empty()
    assert ShopperState.from_dict(ShopperState.empty().to_dict()) == ShopperState.empty()


def test_a_state_from_a_future_version_is_rejected():
    with pytest.raises(ValueError, match="version"):
        ShopperState.from_dict({"version": 99})


def test_scoring_rules_round_trip_and_ignore_unknown_keys():
    rules = ScoringRules(half_life_hours=24, repeat_vdp_count=5, cooldown_minutes={"form_abandoned": 60})
    data = json.loads(json.dumps(rules.to_dict()))
    assert ScoringRules.from_dict(data) == rules
    assert ScoringRules.from_dict({**data, "added_in_a_later_release": True}) == rules


def test_partial_weight_overrides_keep_the_other_defaults():
    rules = ScoringRules.from_dict({"event_weights": {"asc_pageview": 2}})
    assert rules.event_weight("asc_pageview") == 2
    assert rules.event_weight("credit_application_started") == 20
    assert rules.event_weight("something_custom") == 0
    assert rules.cooldown_minutes["form_abandoned"] == 240


@pytest.mark.parametrize("overrides, message", [
    pytest.param({"repeat_vdp_window_hours": -1}, "repeat_vdp_window_hours must be greater than 0", id="a negative window is rejected"),
    pytest.param({"half_life_hours": 0}, "half_life_hours must be greater than 0", id="a zero half life is rejected"),
    pytest.param({"return_after_days": "21"}, "return_after_days must be a number", id="a text number is rejected"),
    pytest.param({"repeat_vdp_count": 0}, "repeat_vdp_count must be at least 1", id="a zero view count is rejected"),
    pytest.param({"same_model_vehicle_count": 2.5}, "same_model_vehicle_count must be a whole number", id="a fractional count is rejected"),
    pytest.param({"hot_score": 10, "warm_score": 30}, "hot_score", id="a hot threshold below warm is rejected"),
    pytest.param({"event_weights": {"asc_pageview": -1}}, r"event_weights\['asc_pageview'\]", id="a negative event weight is rejected"),
    pytest.param({"cooldown_minutes": {"repeat_views": 10}}, "unknown signal kind 'repeat_views'", id="a misspelled signal kind is rejected"),
    pytest.param({"form_abandon_minutes": 3000}, "form_abandon_max_hours", id="an abandon limit longer than the stale limit is rejected"),
])
def test_invalid_rules_raise_a_clear_value_error(overrides, message):
    with pytest.raises(ValueError, match=message):
        ScoringRules.from_dict(overrides)


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        EventFact("asc_pageview", datetime(2024, 6, 4, 10, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        apply_event(ShopperState.empty(), vdp(at(0)), now=datetime(2024, 6, 4, 10, 0))


def test_an_event_payload_dict_becomes_an_event_fact():
    fact = EventFact.from_dict({"kind": "asc_item_pageview", "occurred_at": "2024-06-04T10:00:00+00:00",
                                "vin": RAV4["vin"], "unexpected": 1, "properties": {"form_id": "x"}})
    assert fact.occurred_at == T0 and fact.properties == {"form_id": "x"}
