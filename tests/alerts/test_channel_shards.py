"""The channel layer spread over two real Redis servers (CHANNEL_REDIS_URLS): channels-redis hashes each group
name, and each process's receive channel, to one server. Both servers here are redis-servers of the test's own
(the embedded binary), so stopping one harms nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import redis
from channels_redis.core import RedisChannelLayer
from django.conf import settings as django_settings
from django.test import Client
from websockets.sync.client import connect

from alerts import audience
from alerts.models import Alert
from alerts.push import group_send_many
from alerts.services import alerts_repush, visitor_score_events
from factories import InventoryVehicleFactory, LeadFactory, make_customer, make_staff
from rooftops.models import Role
from rooftops.services import api_token_create
from shopper_events import identify, send, vdp
from support import FeedClient, RedisServer, quiet_for

DEADLINE = 30  # seconds: a bound that proves delivery, not a speed target


def hosts_for(urls: list[str]) -> list[dict]:
    """The hosts list settings build from CHANNEL_REDIS_URLS: each URL with the same per-host timeouts."""
    [options] = django_settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
    return [{**options, "address": url} for url in urls]


def layer_config(urls: list[str]) -> dict:
    return {**django_settings.CHANNEL_LAYERS["default"]["CONFIG"], "hosts": hosts_for(urls)}


def shard_of(name: str, ring: int = 2) -> int:
    """The server channels-redis puts a group (or a process's receive channel) on."""
    return RedisChannelLayer(hosts=[f"redis://h{n}" for n in range(ring)]).consistent_hash(name)


def names_on_each_shard(make_name, ring: int = 2) -> list[str]:
    """One name per shard, from the app's own naming (user-1, user-2, ...)."""
    found: dict[int, str] = {}
    n = 0
    while len(found) < ring:
        n += 1
        found.setdefault(shard_of(make_name(n), ring), make_name(n))
    return [found[i] for i in range(ring)]


def process_layer(urls: list[str], *, receives_on: int) -> RedisChannelLayer:
    """The layer of one process (a web server) whose receive channel hashes to shard `receives_on`. A process
    picks a random client prefix at start; here it is drawn until it lands where the test needs it."""
    layer = RedisChannelLayer(**layer_config(urls))
    while layer.consistent_hash(f"specific.{layer.client_prefix}!") != receives_on:
        layer.client_prefix = uuid.uuid4().hex
    return layer


@pytest.fixture
def shards(tmp_path):
    servers = []
    for n in range(2):
        folder = tmp_path / f"shard{n}"
        folder.mkdir()
        servers.append(RedisServer(folder))
        servers[-1].start()
    yield servers
    for server in servers:
        if server.process and server.process.poll() is None:
            server.thaw()
            server.stop()


def keys_on(server: RedisServer) -> set[str]:
    client = redis.Redis.from_url(server.url)
    try:
        return {key.decode() for key in client.keys("asgi*")}
    finally:
        client.close()


# --------------------------------------------------------------------------- the layer itself


@pytest.mark.parametrize("ring", [1, 2, 3])
def test_a_feed_probes_through_every_server_that_holds_one_of_its_groups(ring):
    # A server that restarts empty loses the memberships it held; a probe on another server would still answer,
    # and the feed would stay open and deaf to its groups there. So one probe group per server in use.
    from alerts.consumers import probe_groups_for

    layer = RedisChannelLayer(hosts=[f"redis://h{n}" for n in range(ring)])
    groups = names_on_each_shard(lambda n: f"user-{n}", ring)
    for wanted in (groups, groups[:1], groups[-1:]):
        probes = probe_groups_for(layer, wanted)
        assert sorted(layer.consistent_hash(p) for p in probes) == sorted({layer.consistent_hash(g) for g in wanted})
        assert len(set(probes)) == len(probes) and all(p.startswith("feed-live-") for p in probes)


def test_groups_and_channels_are_spread_over_both_servers_and_a_group_send_reaches_members_on_either(shards):
    urls = [server.url for server in shards]
    group_on = names_on_each_shard(audience.user_group)  # [a group stored on server 0, one on server 1]

    async def scenario():
        web_0, web_1 = process_layer(urls, receives_on=0), process_layer(urls, receives_on=1)
        worker = RedisChannelLayer(**layer_config(urls))  # a Celery worker's process: sends only
        listener_0, listener_1 = await web_0.new_channel(), await web_1.new_channel()
        for group in group_on:
            await web_0.group_add(group, listener_0)
            await web_1.group_add(group, listener_1)
        groups_stored = [{k for k in keys_on(server) if ":group:" in k} for server in shards]
        assert groups_stored == [{f"asgi:group:{group_on[0]}"}, {f"asgi:group:{group_on[1]}"}]

        for n, group in enumerate(group_on):
            await worker.group_send(group, {"type": "alert.hint", "id": n})
        # Each listener's messages wait on the server its process receives from, whichever group carried them.
        queued = [{k for k in keys_on(server) if ":group:" not in k} for server in shards]
        assert queued == [{f"asgi{web_0.non_local_name(listener_0)}"}, {f"asgi{web_1.non_local_name(listener_1)}"}]
        got = {}
        for layer, listener in ((web_0, listener_0), (web_1, listener_1)):
            got[listener] = sorted([(await asyncio.wait_for(layer.receive(listener), 5))["id"] for _ in range(2)])
        assert got == {listener_0: [0, 1], listener_1: [0, 1]}
        for layer in (web_0, web_1, worker):
            await layer.flush()

    asyncio.run(scenario())


def test_with_one_server_down_a_push_still_reaches_the_groups_on_the_other_and_is_reported_failed(shards, settings):
    urls = [server.url for server in shards]
    web_0 = process_layer(urls, receives_on=0)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": layer_config(urls)}}  # group_send_many's layer
    live_group, dead_group = names_on_each_shard(audience.user_group)

    async def join():
        listener = await web_0.new_channel()
        await web_0.group_add(live_group, listener)
        return listener

    async def receive(listener):
        return await asyncio.wait_for(web_0.receive(listener), 5)

    loop = asyncio.new_event_loop()
    try:
        listener = loop.run_until_complete(join())
        shards[1].stop()
        # The dead server's group is tried first: it must not keep the hint from the live server's listeners.
        with pytest.raises(redis.ConnectionError):
            group_send_many([dead_group, live_group], {"type": "alert.hint", "id": 7})
        assert loop.run_until_complete(receive(listener)) == {"type": "alert.hint", "id": 7}
    finally:
        loop.close()


# --------------------------------------------------------------------------- through the live server


def feed_url(live_url: str, user) -> str:
    return f"ws://{urlsplit(live_url).netloc}/ws/alerts/?token={api_token_create(user=user, name='feed')[1]}"


def opened(stack: contextlib.ExitStack, url: str):
    ws = stack.enter_context(connect(url, open_timeout=5))
    ws.send(json.dumps({"type": "resume", "after": 0}))
    ws.send(json.dumps({"type": "ping"}))
    assert json.loads(ws.recv(timeout=5)) == {"type": "pong"}  # joined every group before answering
    return ws


def alert_frames(ws, count: int) -> list[int]:
    ids, end = [], time.monotonic() + DEADLINE
    while len(ids) < count:
        frame = json.loads(ws.recv(timeout=max(0.1, end - time.monotonic())))
        if frame["type"] == "alert":
            ids.append(frame["id"])
    return ids


def salesperson_on_the_other_shard(world):
    """A salesperson whose user group lives on the other server than the rooftop's BDC team group, so an alert
    for them travels through both servers."""
    bdc_shard = shard_of(audience.team_group(world.rooftop.id, audience.BDC))
    n = 0
    while True:
        n += 1
        person = make_staff(world.rooftop, Role.SALESPERSON, display_name=f"Shard Seller {n}")
        if shard_of(audience.user_group(person.id)) != bdc_shard:
            return person


def shopper_of(world, salesperson, n: int):
    customer = make_customer(world.rooftop, first_name=f"Sharded{n}")
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=salesperson, vehicle=vehicle)
    return identify(world.rooftop, f"shard-{n}", customer), vehicle


def raise_alert(world, visitor, vehicle) -> Alert:
    """What a worker does with four looks at one car, in this process (whose layer settings use both servers)."""
    send(world.rooftop, [vdp(vehicle, anonymous_id=visitor.anonymous_id) for _ in range(4)])
    [alert_id] = visitor_score_events(visitor_id=visitor.id).alert_ids
    return Alert.unscoped.get(pk=alert_id)


@pytest.fixture
def sharded(shards, settings):
    """This process (the one raising alerts) on both servers, in the same order as the live server's."""
    urls = [server.url for server in shards]
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": layer_config(urls)}}
    return urls


@pytest.mark.django_db(transaction=True)
def test_feeds_whose_groups_live_on_either_server_all_get_an_alert_raised_by_another_process(
        world, shards, sharded, start_live_server):
    live_url = start_live_server(CHANNEL_REDIS_URLS=",".join(sharded))
    seller = salesperson_on_the_other_shard(world)
    visitor, vehicle = shopper_of(world, seller, 0)
    team_group, seller_group = audience.team_group(world.rooftop.id, audience.BDC), audience.user_group(seller.id)
    with contextlib.ExitStack() as stack:
        feeds = {who: opened(stack, feed_url(live_url, user)) for who, user in
                 {"bdc": world.bdc, "seller": seller, "manager": world.manager, "outsider": world.outsider}.items()}
        # The memberships the live server wrote are on the servers the names hash to, and only there.
        stored = [keys_on(server) for server in shards]
        for group in (team_group, seller_group):
            assert [f"asgi:group:{group}" in keys for keys in stored] == [shard_of(group) == n for n in (0, 1)]
        assert shard_of(team_group) != shard_of(seller_group)

        alert = raise_alert(world, visitor, vehicle)
        assert (alert.for_team, alert.for_user_id) == (audience.BDC, seller.id)  # one group on each server
        for who in ("bdc", "seller", "manager"):
            assert alert_frames(feeds[who], 1) == [alert.id], who
        assert [f for f in quiet_for(feeds["outsider"], 1.0) if f["type"] == "alert"] == []
        alert.refresh_from_db()
        assert alert.last_pushed_at is not None  # both servers took the hint


def page_status(live_url: str, path: str, cookie: str) -> int:
    request = urllib.request.Request(f"{live_url}{path}", headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.django_db(transaction=True)
def test_with_one_server_down_pages_answer_and_every_alert_reaches_the_feeds_once_it_is_back(
        world, shards, sharded, start_live_server):
    live_url = start_live_server(CHANNEL_REDIS_URLS=",".join(sharded), ALERT_FEED_LIVENESS_SECONDS="1")
    seller = salesperson_on_the_other_shard(world)
    (visitor_0, vehicle_0), (visitor_1, vehicle_1) = shopper_of(world, seller, 0), shopper_of(world, seller, 1)
    client = Client()
    client.force_login(world.bdc)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    feeds = [FeedClient(feed_url(live_url, user)) for user in (world.bdc, seller)]
    listeners = [threading.Thread(target=feed.run, daemon=True) for feed in feeds]
    try:
        for listener in listeners:
            listener.start()
        first = raise_alert(world, visitor_0, vehicle_0)
        wait_until(lambda: all(first.id in feed.alert_ids for feed in feeds), "the first alert on both feeds")

        shards[1].stop()  # one of the two servers is gone, with every group membership and queue it held
        for path in ("/alerts/", "/"):
            assert page_status(live_url, path, cookie) == 200, path
        second = raise_alert(world, visitor_1, vehicle_1)  # committed; its push fails on the dead server
        second.refresh_from_db()
        assert second.last_pushed_at is None  # so the sweep pushes it again
        assert page_status(live_url, f"/alerts/{second.id}/", cookie) == 200

        shards[1].start()  # back on its port, empty: the feeds notice (liveness probe), reconnect and replay
        wait_until(lambda: all(second.id in feed.alert_ids for feed in feeds),
                   lambda: f"the second alert on both feeds; feeds (connects, last closes, ids): "
                           f"{[(f.connects, f.close_codes[-4:], sorted(f.alert_ids)) for f in feeds]}")
        time.sleep(0.5)
        alerts_repush(older_than=timedelta(0))  # what beat runs every minute
        second.refresh_from_db()
        assert second.last_pushed_at is not None
        time.sleep(1.5)
        assert all(feed.alert_ids == {first.id, second.id} for feed in feeds)
    finally:
        for feed in feeds:
            feed.stopping.set()
        for listener in listeners:
            listener.join(5)


def wait_until(predicate, what, timeout: float = DEADLINE) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
        time.sleep(0.2)
