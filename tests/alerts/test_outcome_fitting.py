"""The manager fits the event weights to the store's own sales (a Celery task; the page polls its progress)
and chooses which weights score shoppers. The task function is called directly here; test_fit_with_worker.py
runs it on a real worker."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import services
from alerts.models import ScoringFit, ScoringSettings
from alerts.selectors import outcome_row_chunks, outcome_rows, outcome_shopper_count, scoring_config
from alerts.tasks import scoring_fit
from factories import LeadFactory, make_customer, make_staff
from rooftops.models import Role
from sales_history import store_history

pytestmark = pytest.mark.django_db

PAGE = "/settings/scoring/"


def fragment(client, fit) -> str:
    response = client.get(f"/settings/scoring/fit/{fit.id}/")
    assert response.status_code == 200
    return response.content.decode()


def test_outcome_rows_read_events_before_the_lead_and_the_sale_within_30_days(world):
    store_history(world, shoppers=12)
    rows = outcome_rows(rooftop_id=world.rooftop.id, now=timezone.now())
    assert len(rows) == 12 and sum(r.sold for r in rows) == 3
    assert all(e.occurred_at <= r.reference for r in rows for e in r.events)
    assert not any(e.kind == "credit_application_started" for r in rows for e in r.events)


def test_reading_in_chunks_counts_every_shopper_and_gives_the_same_rows(world):
    store_history(world, shoppers=30)
    # A shopper with a lead but no website activity is read (and counted) but gives no row.
    LeadFactory(rooftop=world.rooftop, customer=make_customer(world.rooftop, first_name="Offline"),
                created_at=timezone.now() - timedelta(days=50), assigned_to=world.salesperson)
    now = timezone.now()
    chunks = list(outcome_row_chunks(rooftop_id=world.rooftop.id, now=now, chunk_size=7))
    assert [read for read, _ in chunks] == [7, 7, 7, 7, 3]
    assert outcome_shopper_count(rooftop_id=world.rooftop.id, now=now) == 31
    in_chunks = [row for _, rows in chunks for row in rows]
    assert len(in_chunks) == 30
    assert in_chunks == list(outcome_rows(rooftop_id=world.rooftop.id, now=now))


def test_a_manager_fits_watches_the_progress_compares_and_adopts_the_fitted_weights_then_undoes(client, world):
    store_history(world)
    client.force_login(world.manager)
    html = client.post(PAGE, {"rooftop": world.rooftop.id, "action": "fit"}, follow=True).content.decode()
    fit = ScoringFit.objects.for_rooftops([world.rooftop.id]).get()
    assert fit.status == "queued" and fit.created_by == world.manager
    assert "Waiting for a worker" in html and 'hx-trigger="every 2s"' in html and "<progress" in html
    assert f'hx-get="/settings/scoring/fit/{fit.id}/"' in html
    assert "Use the fitted weights" not in html  # nothing to adopt until this fit finishes

    scoring_fit(fit.id)  # what the worker runs
    fit.refresh_from_db()
    assert fit.status == "done" and fit.done == fit.total == 120 and fit.finished_at
    html = fragment(client, fit)
    assert "hx-trigger" not in html  # finished: the fragment stops polling
    assert "Fitted. Compare the two rows below" in html
    assert "Hand-set rules" in html and "Fitted weights" in html and "Use the fitted weights" in html
    result = ScoringSettings.unscoped.get(rooftop=world.rooftop).fit_result
    assert result == fit.result
    assert result["ok"] and result["fitted"]["auc"] > result["rules"]["auc"]
    assert scoring_config(rooftop_id=world.rooftop.id).rules.event_weight("trade_in_calculator_completed") == 12
    page = client.get(f"{PAGE}?rooftop={world.rooftop.id}").content.decode()
    assert "Fitted weights" in page and "hx-trigger" not in page and "Fit again" in page

    client.post(PAGE, {"rooftop": world.rooftop.id, "action": "adopt"})
    row = ScoringSettings.unscoped.get(rooftop=world.rooftop)
    rules = scoring_config(rooftop_id=world.rooftop.id).rules
    assert row.weights_source == "fitted"
    assert rules.event_weight("trade_in_calculator_completed") == result["event_weights"]["trade_in_calculator_completed"]
    assert "Now scoring with <strong>fitted</strong>" in client.get(PAGE).content.decode()

    client.post(PAGE, {"rooftop": world.rooftop.id, "action": "undo"})
    assert ScoringSettings.unscoped.get(rooftop=world.rooftop).weights_source == "hand-set"
    assert scoring_config(rooftop_id=world.rooftop.id).rules.event_weight("trade_in_calculator_completed") == 12


def test_without_enough_history_the_page_says_what_is_missing(client, world):
    store_history(world, shoppers=10)
    client.force_login(world.manager)
    client.post(PAGE, {"rooftop": world.rooftop.id, "action": "fit"})
    fit = ScoringFit.objects.for_rooftops([world.rooftop.id]).get()
    scoring_fit(fit.id)
    assert "Not enough data to fit yet: need at least 60 shoppers" in fragment(client, fit)
    assert "Not enough data to fit yet: need at least 60 shoppers" in client.get(PAGE).content.decode()
    response = client.post(PAGE, {"rooftop": world.rooftop.id, "action": "adopt"}, follow=True)
    assert "no successful fit" in response.content.decode()
    assert scoring_config(rooftop_id=world.rooftop.id).customized is False


def test_a_second_click_shows_the_running_fit_instead_of_starting_another(client, world):
    client.force_login(world.manager)
    client.post(PAGE, {"rooftop": world.rooftop.id, "action": "fit"})
    html = client.post(PAGE, {"rooftop": world.rooftop.id, "action": "fit"}, follow=True).content.decode()
    assert "A fit is already running at this store" in html and "Waiting for a worker" in html
    assert ScoringFit.objects.for_rooftops([world.rooftop.id]).count() == 1
    # Another store's fit is its own business: it starts alongside.
    other_manager = make_staff(world.other_rooftop, Role.MANAGER)
    client.force_login(other_manager)
    client.post(PAGE, {"rooftop": world.other_rooftop.id, "action": "fit"})
    assert ScoringFit.objects.for_rooftops([world.other_rooftop.id]).count() == 1


def test_a_fit_whose_worker_went_silent_is_abandoned_by_the_next_click(client, world):
    lost = services.scoring_fit_start(rooftop=world.rooftop, user=world.manager).run
    ScoringFit.objects.for_rooftops([world.rooftop.id]).filter(id=lost.id).update(
        status="running", heartbeat_at=timezone.now() - timedelta(minutes=11))
    client.force_login(world.manager)
    html = fragment(client, lost)
    assert "has not reported progress for over 10 minutes" in html and "Fit again" in html
    assert "hx-trigger" not in html
    start = services.scoring_fit_start(rooftop=world.rooftop, user=world.manager)
    lost.refresh_from_db()
    assert start.started and start.run.id != lost.id
    assert lost.status == "failed" and "stopped reporting progress" in lost.error
    scoring_fit(lost.id)  # a late delivery of the abandoned run does nothing
    lost.refresh_from_db()
    assert lost.status == "failed"


def test_a_failed_fit_says_so_and_keeps_the_previous_fit_to_use(client, world, monkeypatch):
    store_history(world, shoppers=80)
    scoring_fit(services.scoring_fit_start(rooftop=world.rooftop, user=world.manager).run.id)
    previous = ScoringSettings.unscoped.get(rooftop=world.rooftop).fit_result
    assert previous["ok"]

    def broken(*args, **kwargs):
        raise RuntimeError("numerical trouble")

    monkeypatch.setattr(services, "scoring_fit_result", broken)
    fit = services.scoring_fit_start(rooftop=world.rooftop, user=world.manager).run
    scoring_fit(fit.id)
    fit.refresh_from_db()
    assert fit.status == "failed" and fit.finished_at
    client.force_login(world.manager)
    html = fragment(client, fit)
    assert "The fit did not finish: Something went wrong while fitting (RuntimeError)" in html
    assert "hx-trigger" not in html
    assert "Use the fitted weights" in html and "Fit again" in html  # the earlier good fit is still there
    assert ScoringSettings.unscoped.get(rooftop=world.rooftop).fit_result == previous


def test_only_the_stores_managers_may_fit(client, world):
    for user in (world.bdc, world.outsider):
        client.force_login(user)
        assert client.post(PAGE, {"rooftop": world.rooftop.id, "action": "fit"}).status_code == 404
    assert not ScoringSettings.unscoped.filter(rooftop=world.rooftop).exists()
    assert not ScoringFit.objects.for_rooftops([world.rooftop.id]).exists()


def test_a_fit_and_its_progress_are_seen_only_by_the_stores_managers(client, world):
    fit = services.scoring_fit_start(rooftop=world.rooftop, user=world.manager).run
    url = f"/settings/scoring/fit/{fit.id}/"
    client.force_login(world.manager)
    assert "<progress" in fragment(client, fit)
    other_manager = make_staff(world.other_rooftop, Role.MANAGER)
    for user in (other_manager, world.outsider, world.bdc, world.salesperson):
        client.force_login(user)
        assert client.get(url).status_code == 404
    assert client.get("/settings/scoring/fit/999999/").status_code == 404
    # The other store's manager sees their own store's (empty) fit section, never this run.
    client.force_login(other_manager)
    page = client.get(PAGE).content.decode()
    assert url not in page and "Fit now" in page
    assert client.get(f"{PAGE}?rooftop={world.rooftop.id}").status_code == 404
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
