"""Celery keeps the rollups current: the beat schedule, a real worker running the refresh, the rebuild command."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from factories import make_customer
from kpis.models import LeadDay, RollupState
from leads.models import Lead


def test_beat_refreshes_today_and_yesterday_every_few_minutes_and_rebuilds_nightly():
    schedule = settings.CELERY_BEAT_SCHEDULE
    recent = schedule["kpis-refresh-today-and-yesterday"]
    assert recent["task"] == "kpis.tasks.rollups_refresh_all"
    assert recent["schedule"] <= 600 and recent["kwargs"]["days"] == 2
    assert schedule["kpis-rebuild-nightly"]["task"] == "kpis.tasks.rollups_rebuild_nightly"
    assert schedule["kpis-rebuild-nightly"]["kwargs"]["days"] >= 365


@pytest.mark.django_db(transaction=True)
def test_the_worker_refresh_counts_a_lead_received_a_minute_ago(world, celery_worker):
    from kpis.tasks import rollups_refresh_all

    Lead.unscoped.create(rooftop=world.rooftop, customer=make_customer(world.rooftop), source="web_form",
                         created_at=timezone.now() - timedelta(minutes=1))
    rollups_refresh_all.delay(days=2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if LeadDay.unscoped.filter(rooftop=world.rooftop, leads=1).exists():
            break
        time.sleep(0.2)
    assert LeadDay.unscoped.filter(rooftop=world.rooftop, is_month=False).values_list("leads", flat=True).get() == 1
    assert RollupState.objects.filter(rooftop=world.rooftop).exists()


@pytest.mark.django_db
def test_the_rebuild_command_rebuilds_all_history(world, capsys):
    Lead.unscoped.create(rooftop=world.rooftop, customer=make_customer(world.rooftop), source="adf",
                         created_at=timezone.now() - timedelta(days=500))
    call_command("kpis_rebuild")
    out = capsys.readouterr().out
    assert f"{world.rooftop.slug}:" in out
    assert "nothing to count yet" in out  # the other store has no history
    assert LeadDay.unscoped.filter(rooftop=world.rooftop, is_month=False).count() == 1
    state = RollupState.objects.get(rooftop=world.rooftop)
    assert state.full_rebuild_at is not None and (timezone.now().date() - state.first_day).days >= 499
