"""Reroutes reach people live: a `notify` message on their `user-<id>` channel group, after commit."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from crm import handoff
from leads.models import LeadNotification
from leads.services.clock import lead_clocks_sweep
from leads.services.new_leads import lead_create

pytestmark = pytest.mark.django_db(transaction=True)

OPEN = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)


def _off_loop(function, *args):
    """Run a sync-over-async call in a thread of its own: a session that ran Playwright keeps a loop here."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result(timeout=10)


def _listen(user) -> str:
    layer = get_channel_layer()
    channel = _off_loop(async_to_sync(layer.new_channel))
    _off_loop(async_to_sync(layer.group_add), f"user-{user.pk}", channel)
    return channel


def _receive(channel: str) -> dict:
    async def receive():
        return await asyncio.wait_for(get_channel_layer().receive(channel), timeout=5)

    return _off_loop(async_to_sync(receive))


def test_the_old_owner_the_new_owner_and_the_manager_are_told_live(world):
    lead = lead_create(rooftop=world.rooftop, source="web_form", first_name="Pat", email="p@example.com", now=OPEN).lead
    handoff.flush()  # the creation's own notices (published off the request thread) are out before we listen
    old = lead.assigned_to
    new = world.teammate if old == world.salesperson else world.salesperson
    channels = {user.pk: _listen(user) for user in (old, new, world.manager)}
    lead_clocks_sweep(now=OPEN + timedelta(minutes=15))
    for user_id, channel in channels.items():
        message = _receive(channel)
        assert message["type"] == "notify" and message["kind"] == "reroute"
        assert message["lead_id"] == lead.pk and message["url"] == f"/leads/{lead.pk}/"
        row = LeadNotification.unscoped.get(pk=message["notification_id"])
        assert row.user_id == user_id and row.text == message["text"]
