"""End-to-end alert latency: stored shopper events → Celery worker (scoring, alert row) → channel layer (Redis) →
uvicorn → a real websocket client, while background shopper traffic flows.

Clock start: the collector's 200 to POST /v1/batch (Basic auth with the rooftop's write key, Segment's shape) for
the batch holding a shopper's fourth view of one vehicle: its events are committed and its scoring task queued.
Clock stop: the websocket frame for that shopper's alert arriving at a client authenticated as the store's BDC
agent. The background traffic goes through the same collector on the same uvicorn.

The floor, measured in the same run and under the same load: a raw Redis PUBLISH → subscriber round trip.

Run: make bench ARGS=alerts   (script options: --alerts N --rate R --background EPS --configs prefork:2,threads:4 --keep)
Writes bench/results/bench_alerts-<time>.json. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    browsing_raws, close_database_connections, drop_database, flush_bench_redis, free_port, recreate_database,
    rss_mb, start_web, start_worker, stop, summary, use_bench_database, vdp_raw, wait_ready, write_results,
)

BENCH_DB = os.environ.get("BENCH_DB", "crm_bench_alerts")  # another name lets two benches share a server


def _configs(text: str) -> list[tuple[str, int]]:
    configs = []
    for part in text.split(","):
        pool, _, size = part.partition(":")
        if pool not in ("prefork", "threads") or not size.isdigit():
            raise argparse.ArgumentTypeError(f"expected pool:size with pool prefork or threads, got {part!r}")
        configs.append((pool, int(size)))
    return configs


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=600, help="alerts to measure (at least 500 for the report)")
    parser.add_argument("--rate", type=float, default=10.0, help="alerts raised per second")
    parser.add_argument("--background", type=float, default=220.0, help="background events per second")
    parser.add_argument("--batch", type=int, default=10, help="events per background batch (one browser each)")
    parser.add_argument("--configs", default="prefork:2,threads:4", type=_configs,
                        help="worker pools to measure, e.g. prefork:2,threads:4 (prefork:2 is how make run starts it)")
    parser.add_argument("--prefetch", type=int, default=1,
                        help="tasks a worker process reserves ahead (1: an alert never waits behind another's backlog)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    return parser.parse_args()


# --- the run -------------------------------------------------------------------------------------------

def main() -> int:
    args = parse_args()
    url, params = use_bench_database(BENCH_DB)
    import django

    recreate_database(params, BENCH_DB)
    django.setup()
    results = []
    for pool, concurrency in args.configs:
        print(f"\n--- worker pool: {pool} x {concurrency}", flush=True)
        results.append(run_config(args, params, pool, concurrency))
    write_results("bench_alerts", results)
    return 0 if all(r["alerts"]["missing"] == 0 for r in results) else 1


def run_config(args, params: dict, pool: str, concurrency: int) -> dict:
    """One measurement on a fresh database: the same shoppers, the same traffic, one worker configuration."""
    from django.core.management import call_command

    close_database_connections()
    recreate_database(params, BENCH_DB)
    call_command("migrate", verbosity=0)
    flush_bench_redis()
    world = seed(args.alerts)
    # One client address and key sends everything here, past the collector's per-address limit (as bench_load).
    env = dict(os.environ, PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING", RATE_LIMIT_COLLECTOR_PER_ADDRESS="1000000/60",
               RATE_LIMIT_COLLECTOR_PER_KEY="1000000/60")
    port = free_port()
    web = start_web(env, port)
    worker = start_worker(env, pool=pool, concurrency=concurrency, prefetch=args.prefetch)
    try:
        wait_ready(port)
        result = run(args, world, port, worker, pool, concurrency)
    finally:
        stop(web)
        stop(worker)
        close_database_connections()
        if not args.keep:
            drop_database(params, BENCH_DB)
    report(result)
    return result


def seed(alert_count: int) -> dict:
    from django.contrib.auth.models import User
    from django.db import transaction

    from customers.models import Customer, CustomerRooftop
    from leads.models import InventoryVehicle
    from leads.vin import with_check_digit
    from rooftops.models import DealerGroup, Role, Rooftop, StaffProfile, StaffRole
    from rooftops.services import api_token_create
    from tracking.models import Visitor

    with transaction.atomic():
        group = DealerGroup.objects.create(name="Bench Group", slug="bench-group")
        rooftop = Rooftop.objects.create(dealer_group=group, name="Bench Toyota", slug="bench-toyota")
        bdc = User.objects.create(username="bdc@bench.test")
        StaffProfile.objects.create(user=bdc, dealer_group=group, display_name="Bench BDC")
        StaffRole.objects.create(user=bdc, rooftop=rooftop, role=Role.BDC_AGENT)
        _, key = api_token_create(user=bdc, name="bench")
        vehicles = InventoryVehicle.objects.bulk_create([
            InventoryVehicle(rooftop=rooftop, vin=with_check_digit(f"2T3P1RFV0RC{n:06d}"), stock_number=f"B{n}",
                             year=2024, make="Toyota", model=["RAV4", "Camry", "Tacoma", "Highlander"][n % 4],
                             trim="XLE", condition="new", price_cents=3_000_000 + n * 10_000)
            for n in range(200)
        ])
        customers = Customer.unscoped.bulk_create([
            Customer(dealer_group=group, first_name=f"Shopper{n}", last_name="Bench") for n in range(alert_count)
        ])
        CustomerRooftop.objects.bulk_create([CustomerRooftop(customer=c, rooftop=rooftop) for c in customers])
        Visitor.unscoped.bulk_create([
            Visitor(rooftop=rooftop, anonymous_id=f"alert-{n}", customer=c) for n, c in enumerate(customers)
        ])
    return {"rooftop": rooftop, "vehicles": vehicles, "customer_ids": [c.id for c in customers], "token": key,
            "write_key": rooftop.tracking_write_key}


class Collector:
    """A website's sender: POST /v1/batch on a kept-alive connection, as Segment's clients do."""

    def __init__(self, port: int, write_key: str):
        import base64

        import requests

        self.url = f"http://127.0.0.1:{port}/v1/batch"
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()

    def send(self, raws: list[dict]) -> None:
        response = self.session.post(self.url, json={"batch": raws}, timeout=10)
        if response.status_code != 200:
            raise RuntimeError(f"the collector answered {response.status_code}: {response.text[:200]}")


class Background(threading.Thread):
    """Anonymous shoppers browsing (page views, search results, detail pages): scored, alerting no one."""

    def __init__(self, collector: "Collector", vehicles, events_per_second: float, batch: int):
        super().__init__(daemon=True)
        self.collector, self.vehicles, self.batch = collector, vehicles, batch
        self.interval = batch / events_per_second
        self.stop_event = threading.Event()
        self.sent = 0
        self.started_at = self.stopped_at = 0.0

    def run(self):
        from django.db import connection

        rng = random.Random(7)
        n = 0
        self.started_at = next_at = time.perf_counter()
        try:
            while not self.stop_event.is_set():
                browser = f"bg-{rng.randrange(5000)}"
                raws = browsing_raws(rng, self.vehicles, browser, n, self.batch)
                n += self.batch
                self.collector.send(raws)
                self.sent += len(raws)
                next_at += self.interval
                delay = next_at - time.perf_counter()
                if delay > 0:
                    self.stop_event.wait(delay)
        finally:
            self.stopped_at = time.perf_counter()
            connection.close()

    @property
    def rate(self) -> float:
        return self.sent / max(1e-9, (self.stopped_at or time.perf_counter()) - self.started_at)


class RedisFloor(threading.Thread):
    """Raw PUBLISH → subscriber round trip on the same Redis, sampled while the load runs."""

    def __init__(self, url: str, interval: float = 0.02):
        super().__init__(daemon=True)
        import redis

        self.publisher = redis.Redis.from_url(url)
        self.subscriber = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
        self.subscriber.subscribe("bench-floor")
        self.interval = interval
        self.stop_event = threading.Event()
        self.samples_ms: list[float] = []

    def run(self):
        while not self.stop_event.is_set():
            sent = time.perf_counter()
            self.publisher.publish("bench-floor", repr(sent))
            message = None
            deadline = sent + 2
            while message is None and time.perf_counter() < deadline:
                message = self.subscriber.get_message(timeout=1.0)
            if message is not None:
                self.samples_ms.append((time.perf_counter() - float(message["data"])) * 1000)
            self.stop_event.wait(self.interval)


class FeedClient(threading.Thread):
    """The BDC agent's websocket: records when each alert frame arrives."""

    def __init__(self, port: int, key: str):
        super().__init__(daemon=True)
        self.url = f"ws://127.0.0.1:{port}/ws/alerts/?token={key}"
        self.arrivals: dict[int, float] = {}  # customer id → perf_counter at arrival
        self.arrivals_wall: dict[int, float] = {}
        self.frame_ids: list[int] = []
        self.ready = threading.Event()
        self.stop_event = threading.Event()

    def run(self):
        asyncio.run(self._listen())

    async def _listen(self):
        import websockets

        async with websockets.connect(self.url, max_size=2**22) as ws:
            await ws.send(json.dumps({"type": "resume", "after": 0}))
            await ws.send(json.dumps({"type": "ping"}))
            while not self.stop_event.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except asyncio.TimeoutError:
                    continue
                now = time.perf_counter()
                frame = json.loads(raw)
                if frame["type"] == "pong":
                    self.ready.set()
                elif frame["type"] == "alert":
                    self.frame_ids.append(frame["id"])
                    customer = (frame["alert"].get("customer") or {}).get("id")
                    if customer is not None and frame["parent_id"] is None:
                        self.arrivals.setdefault(customer, now)
                        self.arrivals_wall.setdefault(customer, time.time())


def run(args, world, port: int, worker: subprocess.Popen, pool: str, concurrency: int) -> dict:
    from django.conf import settings
    from django.db import connection

    from alerts.models import Alert

    rooftop, vehicles = world["rooftop"], world["vehicles"]
    client = FeedClient(port, world["token"])
    client.start()
    if not client.ready.wait(30):
        raise RuntimeError("the websocket client could not connect")
    floor = RedisFloor(settings.CHANNEL_LAYER_URL)
    write_key = world["write_key"]
    background = Background(Collector(port, write_key), vehicles, args.background, args.batch)
    collector = Collector(port, write_key)
    rss_samples: list[float] = []
    rss_stop = threading.Event()

    def sample_rss():
        while not rss_stop.is_set():
            rss_samples.append(rss_mb(worker.pid))
            rss_stop.wait(1.0)

    rss_thread = threading.Thread(target=sample_rss, daemon=True)
    rss_thread.start()
    print(f"warming up: background traffic at {args.background:.0f} events/s", flush=True)
    background.start()
    time.sleep(5)
    floor.start()
    started: dict[int, float] = {}
    started_wall: dict[int, float] = {}
    interval = 1.0 / args.rate
    rng = random.Random(11)
    t_begin = next_at = time.perf_counter()
    print(f"raising {args.alerts} alerts at {args.rate:.0f}/s", flush=True)
    for n, customer_id in enumerate(world["customer_ids"]):
        vehicle = rng.choice(vehicles)
        collector.send([vdp_raw(vehicle, f"alert-{n}", f"alert-{n}-{v}") for v in range(4)])
        started[customer_id] = time.perf_counter()  # the collector's 200: stored, committed, task queued
        started_wall[customer_id] = time.time()
        next_at += interval
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    raise_seconds = time.perf_counter() - t_begin
    deadline = time.monotonic() + 30
    while len(client.arrivals) < len(started) and time.monotonic() < deadline:
        time.sleep(0.2)
    background.stop_event.set()
    floor.stop_event.set()
    background.join(10)
    floor.join(5)
    client.stop_event.set()
    client.join(5)
    rss_stop.set()
    rss_thread.join(2)

    latencies = [(client.arrivals[c] - t0) * 1000 for c, t0 in started.items() if c in client.arrivals]
    alerts = summary(latencies)
    alerts["missing"] = len(started) - len(latencies)
    alerts["raised_per_second"] = round(len(started) / raise_seconds, 1)
    in_db = list(Alert.unscoped.filter(rooftop=rooftop).order_by("id").values_list("id", flat=True))
    alerts["frames_in_id_order_once"] = client.frame_ids == in_db
    floor_stats = summary(floor.samples_ms)
    # Where the time goes, from the rows themselves: queued (stored → the worker starts scoring),
    # worker (scoring start → pushed after commit), delivery (pushed → frame at the client).
    queued, working, delivering = [], [], []
    for customer_id, created, pushed in Alert.unscoped.filter(rooftop=rooftop, parent__isnull=True).values_list(
            "customer_id", "created_at", "last_pushed_at"):
        if customer_id in started_wall and pushed is not None and customer_id in client.arrivals_wall:
            queued.append((created.timestamp() - started_wall[customer_id]) * 1000)
            working.append((pushed.timestamp() - created.timestamp()) * 1000)
            delivering.append((client.arrivals_wall[customer_id] - pushed.timestamp()) * 1000)
    breakdown = {"queued_before_worker": summary(queued), "worker_scoring_to_push": summary(working),
                 "push_to_client_frame": summary(delivering)}
    connection.close()
    result = {
        "benchmark": "alerts",
        "clock_start": "HTTP 200 from POST /v1/batch (the collector on uvicorn; events committed, task queued)",
        "clock_stop": "alert frame received by a websocket client (uvicorn, Channels, channels-redis)",
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "settings": {"alerts": args.alerts, "alert_rate_per_s": args.rate, "background_target_eps": args.background,
                     "background_batch": args.batch, "worker_concurrency": concurrency, "worker_pool": pool,
                     "worker_prefetch_multiplier": args.prefetch},
        "background_events_per_second": round(background.rate, 1),
        "background_events": background.sent,
        "alerts": alerts,
        "breakdown": breakdown,
        "redis_publish_subscribe_floor": floor_stats,
        "ratio_p50_to_floor_p50": round(alerts["p50_ms"] / floor_stats["p50_ms"], 1) if floor.samples_ms else None,
        "ratio_p99_to_floor_p99": round(alerts["p99_ms"] / floor_stats["p99_ms"], 1) if floor.samples_ms else None,
        "worker_rss_mb": {"max": round(max(rss_samples), 1) if rss_samples else None,
                          "end": round(rss_samples[-1], 1) if rss_samples else None,
                          "processes": 1 + (concurrency if pool == "prefork" else 0)},
        "goal_p99_under_250ms": alerts["p99_ms"] < 250,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    return result


def report(result: dict) -> None:
    a, f, b = result["alerts"], result["redis_publish_subscribe_floor"], result["breakdown"]
    w = result["worker_rss_mb"]
    print(f"""
alerts end to end (collector 200 -> websocket frame), {a['n']} alerts, {a['missing']} missing,
  worker {result['settings']['worker_pool']} x {result['settings']['worker_concurrency']}, background {result['background_events_per_second']} events/s:
  p50 {a['p50_ms']} ms   p90 {a['p90_ms']} ms   p99 {a['p99_ms']} ms   max {a['max_ms']} ms
  frames in id order, each once: {a['frames_in_id_order_once']}
breakdown p50/p99 ms: queued {b['queued_before_worker']['p50_ms']}/{b['queued_before_worker']['p99_ms']}  worker {b['worker_scoring_to_push']['p50_ms']}/{b['worker_scoring_to_push']['p99_ms']}  push->frame {b['push_to_client_frame']['p50_ms']}/{b['push_to_client_frame']['p99_ms']}
redis publish -> subscriber floor ({f['n']} samples): p50 {f['p50_ms']} ms   p99 {f['p99_ms']} ms
  ratio to floor: p50 x{result['ratio_p50_to_floor_p50']}   p99 x{result['ratio_p99_to_floor_p99']}
worker RSS ({w['processes']} process(es)): max {w['max']} MB, end {w['end']} MB
machine load average (1 min) at the end: {result['load_average_1m']}
p99 under 250 ms: {result['goal_p99_under_250ms']}""", flush=True)


if __name__ == "__main__":
    sys.exit(main())
