"""Load test: the whole CRM at once on loopback, as a dealer group's working day drives it.

Together, for --duration seconds (default five minutes), against uvicorn and a Celery worker on the real
PostgreSQL and Redis (DATABASE_URL / REDIS_URL):

- the collector: dealer websites posting Segment batches to /v1/batch (10 events a request, each rooftop's write
  key) at --events-per-second, every stored batch scored by the worker. Open loop, as thousands of browsers
  are: a batch leaves on schedule whether or not earlier ones were answered, on up to --collector-connections
  kept-alive connections; a batch due while all are busy is counted as not sent (a finding: the server fell
  behind the offered rate);
- shoppers whose fourth view of one vehicle raises an alert (--alerts-per-second): the clock runs from the
  collector's 200 for that batch to the alert frame at each feed client of that store;
- --feed-clients staff on the live feed (websockets on /ws/alerts/ with their browser session, five a store;
  a dropped feed reconnects and resumes by id as the page does, each handshake timed, each drop counted by
  reason);
- --managers managers on the dashboards: the full page, then the htmx refreshes of its body (other periods,
  one store), with a think time between;
- --salespeople salespeople searching customers (the search box's htmx request) and opening the customer page
  of a hit;
- with --with-import, a long DMS import (a sales + service export, --import-rows rows, one file after the
  other as a store sends them) loading on the same worker throughout.

The world, seeded in SQL in under about three minutes: ten rooftops (bench_dashboards' group and staff at a
fifth of its size: a year of leads, appointments, calls, alerts and repair orders, with the rollups built),
customers known at their store with a phone and a short timeline (every hundredth a long one), inventory,
the alert shoppers, the feed staff, and a session per staff member (created through Django's session engine,
as a login leaves it: the group does not require a second factor).

Reported: per kind of request, count, throughput, p50/p99/max and errors by status (5xx reported as a
finding; 0 = no answer within 30 s or a failed connection); event → alert frame p50/p99 (first client of the
store and every client; with an import, split by whether it was running) and where its time went; collector
events accepted vs stored; the scoring queue's depth; peak resident memory of the web and worker processes
(with their children); load average. JSON in bench/results/.

The collector's rate, 200 events/s by default: the background rate bench_alerts measures alert latency under
on this 2-core machine. The collector alone stores ~12,000 events/s (bench_ingest), but here every event is
also scored by the worker on the same two cores, beside everything else.

Bounded: traffic stops at --duration (plus --warmup before measuring); every client is paced (a rate or a
think time), so the count is bounded too; alerts still in flight get 15 s to arrive.

Run:  make bench ARGS="load -- --duration 60"              (options after --; default five minutes)
      make bench ARGS="load -- --with-import"
      .venv/bin/python bench/bench_load.py --help          (DATABASE_URL / REDIS_URL set, as make bench does)
Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    browsing_raws, close_database_connections, drop_database, flush_bench_redis, free_port, recreate_database,
    rss_mb, start_web, start_worker, stop, summary, use_bench_database, vdp_raw, wait_ready, write_results,
)

BENCH_DB = "crm_bench_load"
ROOFTOPS = 10  # bench_dashboards' group
VIN_LETTERS = "ABCDEFGHJK"  # one per rooftop (a VIN has no I, O or Q)
CUSTOMER_ID = re.compile(rb'href="/customers/(\d+)/"')
ALERT_GRACE_SECONDS = 15


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300, help="seconds of measured load (default 300)")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of load before measuring")
    parser.add_argument("--events-per-second", type=float, default=200,
                        help="collector events a second; 200 is what bench_alerts measured its alert latency under "
                             "(the collector alone takes ~12,000/s, but every event is scored on the same 2 cores)")
    parser.add_argument("--batch", type=int, default=10, help="events per collector request (one browser each)")
    parser.add_argument("--collector-connections", type=int, default=32,
                        help="the senders' cap: batches in flight at once (beyond it a batch is counted, not sent)")
    parser.add_argument("--alerts-per-second", type=float, default=2.0, help="shoppers raising an alert a second")
    parser.add_argument("--feed-clients", type=int, default=50)
    parser.add_argument("--managers", type=int, default=10)
    parser.add_argument("--salespeople", type=int, default=20)
    parser.add_argument("--manager-think", type=float, default=5.0, help="seconds between a manager's requests")
    parser.add_argument("--salesperson-think", type=float, default=4.0,
                        help="seconds between a salesperson's searches (the customer page opens halfway)")
    parser.add_argument("--customers", type=int, default=100_000, help="customers in the group (leads 1.3x)")
    parser.add_argument("--with-import", action="store_true", help="a long DMS import loads during the run")
    parser.add_argument("--import-rows", type=int, default=300_000, help="rows of the DMS export (sales + service)")
    parser.add_argument("--web-processes", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--worker-pool", default="prefork", choices=("prefork", "threads"))
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--prefetch", type=int, default=1, help="tasks a worker process reserves ahead")
    parser.add_argument("--worker-groups", action="store_true",
                        help="one worker per docker-compose group (crm/queues.py WORKERS), each with "
                             "--worker-concurrency processes, instead of one worker on every queue")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    if args.feed_clients < 0 or args.managers < 0 or args.salespeople < 0 or args.duration <= 0:
        parser.error("counts must be >= 0 and --duration > 0")
    return args


# --- the world -----------------------------------------------------------------------------------------

@dataclass
class Vehicle:
    vin: str
    stock_number: str
    year: int
    make: str
    model: str
    trim: str
    price_cents: int


@dataclass
class Store:
    id: int
    index: int
    write_key: str
    vehicles: list[Vehicle]


@dataclass
class World:
    stores: list[Store]
    first_customer_id: int
    customers: int
    feed: list[tuple[int, str]]  # (store index, session key)
    managers: list[tuple[int | None, str]]  # (store index, None for the group's manager; session key)
    salespeople: list[tuple[int, str]]  # (store index, session key)
    shoppers: list[tuple[int, int, str]]  # (customer id, store index, anonymous id)
    last_alert_id: int
    seed_seconds: dict = field(default_factory=dict)


def seed(args) -> World:
    """bench_dashboards' group at a fifth of its size, then what the salespeople, the feed and the shoppers need."""
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from alerts.models import Alert
    from bench import bench_dashboards as dashboards
    from customers.models import Customer, CustomerRooftop
    from leads.models import InventoryVehicle
    from leads.vin import with_check_digit
    from rooftops.models import DealerGroup, Role, Rooftop, StaffProfile, StaffRole
    from tracking.models import Visitor

    timings = {}
    started = time.monotonic()
    now = datetime.now(dt_timezone.utc).replace(microsecond=0)
    n = args.customers
    with transaction.atomic():
        seeded = dashboards.seed(now, customers=n, leads=int(n * 1.3), alerts=n // 8, repair_orders=int(n * 0.3))
    timings["dashboards_seed"] = round(time.monotonic() - started, 1)
    t = time.monotonic()
    timings["rollups"] = dashboards.build_rollups()["total"]
    print(f"  rollups built in {time.monotonic() - t:.0f} s", flush=True)

    t = time.monotonic()
    group = DealerGroup.objects.get(slug="bench-auto-group")
    rooftops = list(Rooftop.objects.filter(dealer_group=group).order_by("id"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM customers_customer WHERE dealer_group_id = %s", [group.id])
        cmin = cursor.fetchone()[0]
        p = {"group": group.id, "cmin": cmin, "rooftops": [r.id for r in rooftops]}
        # bench_dashboards' customer (id - cmin) % 10 is its store's; salespeople search only where it is known.
        cursor.execute("""
            INSERT INTO customers_customerrooftop (customer_id, rooftop_id, first_seen_at, dms_customer_number)
            SELECT id, (%(rooftops)s::bigint[])[(id - %(cmin)s) %% 10 + 1], now(), ''
            FROM customers_customer WHERE dealer_group_id = %(group)s""", p)
        cursor.execute("""
            INSERT INTO customers_customerphone (customer_id, e164, label, is_primary)
            SELECT id, '+1617' || lpad(((id - %(cmin)s) %% 10000000)::text, 7, '0'), 'mobile', true
            FROM customers_customer WHERE dealer_group_id = %(group)s""", p)
        # One customer in a hundred has a long history (two years of calls, texts, visits and notes): ten in a
        # row of every thousand, so each store has its share.
        cursor.execute("""
            INSERT INTO customers_timelineentry (customer_id, rooftop_id, department, kind, occurred_at, summary,
                body, direction, detail)
            SELECT c.id, (%(rooftops)s::bigint[])[(c.id - %(cmin)s) %% 10 + 1],
                   (ARRAY['sales','service','web','bdc'])[1 + i %% 4],
                   (ARRAY['call','service_visit','web_session','note','text','email','appointment'])[1 + i %% 7],
                   now() - i * interval '3 days', 'Entry ' || i || ': what happened, in one line', '', '',
                   '{}'::jsonb
            FROM customers_customer c CROSS JOIN generate_series(1, 200) AS i
            WHERE c.dealer_group_id = %(group)s AND (c.id - %(cmin)s) %% 1000 < 10""", p)
    timings["customers_extra"] = round(time.monotonic() - t, 1)

    t = time.monotonic()
    with transaction.atomic():
        stores = []
        for index, rooftop in enumerate(rooftops):
            rows = InventoryVehicle.objects.bulk_create([
                InventoryVehicle(rooftop=rooftop, vin=with_check_digit(f"2T3P1RFV0R{VIN_LETTERS[index]}{k:06d}"),
                                 stock_number=f"S{index}-{k}", year=2025,
                                 make="Toyota", model=["RAV4", "Camry", "Tacoma", "Highlander"][k % 4], trim="XLE",
                                 condition="new", price_cents=3_000_000 + k * 10_000)
                for k in range(40)])
            stores.append(Store(id=rooftop.id, index=index, write_key=rooftop.tracking_write_key,
                                vehicles=[Vehicle(v.vin, v.stock_number, v.year, v.make, v.model, v.trim,
                                                  v.price_cents) for v in rows]))
        # The feed's staff: BDC agents (the stores have a BDC, so shopper alerts go to its team feed).
        feed_users = []
        for k in range(args.feed_clients):
            user = User.objects.create(username=f"feed{k}@bench.test")
            StaffProfile.objects.create(user=user, dealer_group=group, display_name=f"Feed {k}")
            StaffRole.objects.create(user=user, rooftop=rooftops[k % ROOFTOPS], role=Role.BDC_AGENT)
            feed_users.append((k % ROOFTOPS, user))
        # The alert shoppers: known customers whose browser the site has already tied to them.
        count = math.ceil((args.duration + args.warmup) * args.alerts_per_second) + 10
        shoppers = Customer.unscoped.bulk_create([
            Customer(dealer_group=group, first_name=f"Shopper{k}", last_name="Bench") for k in range(count)])
        CustomerRooftop.objects.bulk_create([CustomerRooftop(customer=c, rooftop=rooftops[k % ROOFTOPS])
                                             for k, c in enumerate(shoppers)])
        Visitor.unscoped.bulk_create([Visitor(rooftop=rooftops[k % ROOFTOPS], anonymous_id=f"alert-{k}", customer=c)
                                      for k, c in enumerate(shoppers)])
        managers = [(None, User.objects.get(username=seeded["manager"]))]  # sees the whole group
        managers += [(i, User.objects.get(username=f"manager{i}@bench.test")) for i in range(ROOFTOPS)]
        managers = managers[:args.managers] + [managers[k % len(managers)]
                                               for k in range(len(managers), args.managers)]
        salespeople = [(j % ROOFTOPS, User.objects.get(
            username=f"sales{j % ROOFTOPS}-{(j // ROOFTOPS) % dashboards.SALES_PER_ROOFTOP}@bench.test"))
            for j in range(args.salespeople)]
        world = World(
            stores=stores, first_customer_id=cmin, customers=n,
            feed=[(index, session_for(user)) for index, user in feed_users],
            managers=[(index, session_for(user)) for index, user in managers],
            salespeople=[(index, session_for(user)) for index, user in salespeople],
            shoppers=[(c.id, k % ROOFTOPS, f"alert-{k}") for k, c in enumerate(shoppers)],
            last_alert_id=Alert.unscoped.order_by("-id").values_list("id", flat=True).first() or 0,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    timings["staff_inventory_sessions"] = round(time.monotonic() - t, 1)
    timings["total"] = round(time.monotonic() - started, 1)
    world.seed_seconds = timings
    return world


def session_for(user) -> str:
    """A signed-in session as django.contrib.auth.login leaves it (what the test client's force_login does)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend

    backend = next(path for path in settings.AUTHENTICATION_BACKENDS if hasattr(load_backend(path), "get_user"))
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = backend
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


# --- measuring -------------------------------------------------------------------------------------------

class Recorder:
    """Latency and status per kind of request that started inside the measured window (perf_counter times)."""

    def __init__(self):
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.window = (math.inf, math.inf)

    def measuring(self, moment: float | None = None) -> bool:
        moment = time.perf_counter() if moment is None else moment
        return self.window[0] <= moment < self.window[1]

    def add(self, kind: str, started: float, status: int) -> None:
        """A request that started at `started` (perf_counter) ended now."""
        if self.measuring(started):
            ms = (time.perf_counter() - started) * 1000
            self.latencies[kind].append(ms)
            self.statuses[kind][status] += 1


class Http:
    """One kept-alive HTTP/1.1 connection, as a browser tab or a website's sender holds one. Status 0: the
    connection failed or the answer took over 30 s (counted by reason in Http.failures).

    uvicorn closes a connection idle for 5 s; like a browser, a request that finds its kept-alive connection
    closed before any answer reconnects and sends again (once)."""

    failures: Counter = Counter()

    def __init__(self, port: int, headers: list[tuple[str, str]] = ()):
        self.port = port
        self.headers = [("Host", f"127.0.0.1:{port}"), *headers]
        self.reader = self.writer = None

    async def request(self, method: str, path: str, *, body: bytes = b"",
                      headers: list[tuple[str, str]] = ()) -> tuple[int, bytes]:
        try:
            return await asyncio.wait_for(self._request(method, path, body, headers), 30)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, IndexError) as exc:
            Http.failures[type(exc).__name__] += 1
            self.close()
            return 0, b""

    async def _request(self, method, path, body, headers, *, again: bool = True):
        reused = self.writer is not None
        if reused and self.reader.at_eof():
            self.close()
            reused = False
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in [*self.headers, *headers]),
                 f"Content-Length: {len(body)}"]
        try:
            self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            await self.writer.drain()
            status_line = await self.reader.readline()
            if not status_line:
                raise ConnectionResetError("closed before answering")
        except OSError:
            if not (reused and again):
                raise
            self.close()  # the server had closed the idle connection
            return await self._request(method, path, body, headers, again=False)
        status = int(status_line.split()[1])
        answer: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            answer[name.strip().lower()] = value.strip()
        if answer.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            while (await self.reader.readline()) not in (b"\r\n", b""):
                pass  # trailers
            data = b"".join(parts)
        elif "content-length" in answer:
            data = await self.reader.readexactly(int(answer["content-length"]))
        else:
            data = await self.reader.read()
            answer["connection"] = "close"
        if answer.get("connection", "").lower() == "close":
            self.close()
        return status, data

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Senders:
    """Websites' senders on kept-alive connections: a batch takes a free connection, or opens one while fewer
    than `limit` requests are in flight; beyond that it is not sent and counted (the generator's own limit)."""

    def __init__(self, port: int, limit: int):
        self.port, self.limit = port, limit
        self.idle: list[Http] = []
        self.in_flight = 0
        self.not_sent = 0

    async def post(self, write_key: str, raws: list[dict]) -> int | None:
        if self.in_flight >= self.limit:
            self.not_sent += 1
            return None
        http = self.idle.pop() if self.idle else Http(self.port, [("Content-Type", "application/json")])
        self.in_flight += 1
        try:
            auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
            status, _ = await http.request("POST", "/v1/batch", body=json.dumps({"batch": raws}).encode(),
                                           headers=[("Authorization", auth)])
            return status
        finally:
            self.in_flight -= 1
            self.idle.append(http)

    def close(self):
        for http in self.idle:
            http.close()


class Sampler(threading.Thread):
    """Once a second: resident memory of web and worker (with children), the Celery queues' depth."""

    def __init__(self, web_pid: int, worker_pids: list[int]):
        super().__init__(daemon=True)
        import redis
        from django.conf import settings

        self.web_pid, self.worker_pids = web_pid, worker_pids
        self.broker = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
        self.stop_event = threading.Event()
        self.web_mb: list[float] = []
        self.worker_mb: list[float] = []
        self.queue_depth: dict[str, list[int]] = defaultdict(list)

    def run(self):
        while not self.stop_event.is_set():
            self.web_mb.append(rss_mb(self.web_pid))
            self.worker_mb.append(sum(rss_mb(pid) for pid in self.worker_pids))
            for queue in ("scoring", "imports", "celery"):
                try:
                    self.queue_depth[queue].append(self.broker.llen(queue))
                except Exception:  # noqa: BLE001 - a missed sample is not a finding
                    pass
            self.stop_event.wait(1.0)


class ImportDriver(threading.Thread):
    """A store's first DMS import, queued to the worker as the browser's "Start import" does; the sales file
    first, then the repair orders (one import at a time per store)."""

    def __init__(self, rooftop_id: int, files: list[tuple[Path, str]]):
        super().__init__(daemon=True)
        self.rooftop_id, self.files = rooftop_id, files
        self.stop_event = threading.Event()
        self.running_since: float | None = None  # perf_counter while a file is loading on the worker
        self.spans: list[tuple[float, float]] = []
        self.imports: list[dict] = []
        self.error = ""

    def running_at(self, moment: float) -> bool:
        return any(a <= moment <= b for a, b in self.spans) or (
            self.running_since is not None and moment >= self.running_since)

    def run(self):
        from django.core.files import File
        from django.db import connection

        from dms import services
        from dms.models import DmsImport
        from rooftops.models import Rooftop

        rooftop = Rooftop.objects.get(pk=self.rooftop_id)
        try:
            for path, kind in self.files:
                with path.open("rb") as handle:
                    draft = services.dms_upload(rooftop=rooftop, kind=kind, upload=File(handle, name=path.name),
                                                file_name=path.name, user=None)
                services.dms_import_start(dms_import=draft, columns=draft.columns)
                self.running_since = time.perf_counter()
                while not self.stop_event.wait(1.0):
                    row = DmsImport.unscoped.get(pk=draft.pk)
                    if row.status not in DmsImport.ACTIVE:
                        break
                self.spans.append((self.running_since, time.perf_counter()))
                self.running_since = None
                row = DmsImport.unscoped.get(pk=draft.pk)
                status = row.status
                if row.status in DmsImport.ACTIVE:  # the run ended first: stop it after its current chunk
                    services.dms_import_cancel(dms_import=row)
                    status = f"still {row.status} at the end of the run (then cancelled)"
                seconds = self.spans[-1][1] - self.spans[-1][0]
                self.imports.append({"kind": kind, "status": status, "rows_done": row.rows_done,
                                     "total_rows": row.total_rows, "seconds": round(seconds, 1),
                                     "rows_per_second": round(row.rows_done / max(1e-9, seconds))})
                if self.stop_event.is_set():
                    break
        except Exception as exc:  # noqa: BLE001 - reported, the load goes on
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()


# --- the clients -------------------------------------------------------------------------------------------

class Load:
    def __init__(self, args, world: World, port: int, importer: ImportDriver | None):
        from django.conf import settings

        self.args, self.world, self.port, self.importer = args, world, port, importer
        self.cookie_name = settings.SESSION_COOKIE_NAME
        self.recorder = Recorder()
        self.events_accepted = 0  # in the measured window
        self.events_accepted_total = 0  # warm-up included: what the database must hold
        self.alert_started: dict[int, float] = {}  # customer id → the collector's 200 (perf_counter)
        self.alert_started_wall: dict[int, float] = {}
        self.alert_during_import: dict[int, bool] = {}
        self.arrivals: dict[int, dict[int, float]] = defaultdict(dict)  # customer id → {client: perf_counter}
        self.first_arrival_wall: dict[int, float] = {}
        self.senders: list[Senders] = []
        self.feed_reconnects = 0
        self.feed_refused: Counter = Counter()
        self.store_of_customer = {cid: store for cid, store, _ in world.shoppers}

    # The clock: traffic runs until stop_at; alerts in flight may arrive until feeds_stop_at.
    async def run(self) -> dict:
        loop = asyncio.get_running_loop()
        self.feeds_ready = 0
        self.feeds_stop_at = math.inf
        feed_tasks = [asyncio.create_task(self.feed_client(k, store, key))
                      for k, (store, key) in enumerate(self.world.feed)]
        deadline = loop.time() + 60
        while self.feeds_ready < len(feed_tasks) and loop.time() < deadline:
            await asyncio.sleep(0.1)
        if self.feeds_ready < len(feed_tasks):
            raise RuntimeError(f"only {self.feeds_ready} of {len(feed_tasks)} feed clients connected "
                               f"(refusals: {dict(self.feed_refused)})")
        await self.preflight()
        self.stop_at = time.perf_counter() + self.args.warmup + self.args.duration  # traffic ends with the window
        tasks = [asyncio.create_task(self.collector()), asyncio.create_task(self.shoppers())]
        tasks += [asyncio.create_task(self.manager(j, store, key))
                  for j, (store, key) in enumerate(self.world.managers)]
        tasks += [asyncio.create_task(self.salesperson(j, store, key))
                  for j, (store, key) in enumerate(self.world.salespeople)]
        if self.importer is not None:
            self.importer.start()
        print(f"warming up for {self.args.warmup:.0f} s ...", flush=True)
        await asyncio.sleep(self.args.warmup)
        self.recorder.window = (self.stop_at - self.args.duration, self.stop_at)
        load_start = os.getloadavg()
        print(f"measuring for {self.args.duration:.0f} s ...", flush=True)
        await asyncio.gather(*tasks)
        window = self.recorder.window[1] - self.recorder.window[0]
        # Alerts raised just before the end get a grace period to reach the feeds.
        grace_end = loop.time() + ALERT_GRACE_SECONDS
        while loop.time() < grace_end and any(c not in self.first_arrival_wall for c in self.alert_started):
            await asyncio.sleep(0.2)
        self.feeds_stop_at = loop.time()
        await asyncio.gather(*feed_tasks)
        return {"window_seconds": window, "load_average_start": load_start, "load_average_end": os.getloadavg()}

    async def preflight(self):
        """A session that does not open the pages would measure the login redirect: refuse to start."""
        checks = []
        if self.world.managers:
            checks.append((self.world.managers[0][1], "/dashboards/?preset=30"))
        if self.world.salespeople:
            checks.append((self.world.salespeople[0][1], "/customers/"))
        for key, path in checks:
            status, _ = await Http(self.port, [("Cookie", f"{self.cookie_name}={key}")]).request("GET", path)
            if status != 200:
                raise RuntimeError(f"GET {path} with a seeded session answered {status}, not 200")

    async def paced(self, interval: float, offset: float, step):
        """Call step() every `interval` seconds until stop_at; when late, go on at once without bursting."""
        next_at = time.perf_counter() + offset
        while True:
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.perf_counter() >= self.stop_at:
                return
            await step()
            next_at = max(next_at + interval, time.perf_counter() - interval)

    async def open_loop(self, interval: float, send) -> None:
        """Start send() every `interval` seconds until stop_at without waiting for the answer: thousands of
        browsers do not slow down when the server does, so the offered rate holds (up to the senders' cap)."""
        pending: set[asyncio.Task] = set()

        async def step():
            task = asyncio.create_task(send())
            pending.add(task)
            task.add_done_callback(pending.discard)

        await self.paced(interval, 0, step)
        if pending:
            await asyncio.gather(*pending)

    async def collector(self):
        rng = random.Random(100)
        senders = Senders(self.port, self.args.collector_connections)
        self.senders.append(senders)
        sent = [0]

        async def send():
            store = rng.choice(self.world.stores)
            browser = f"bg-{store.index}-{rng.randrange(5000)}"
            raws = browsing_raws(rng, store.vehicles, browser, sent[0], self.args.batch)
            sent[0] += self.args.batch
            started = time.perf_counter()
            status = await senders.post(store.write_key, raws)
            if status is None:
                return
            self.recorder.add("collector /v1/batch", started, status)
            if status == 200:
                self.events_accepted_total += len(raws)
                if self.recorder.measuring(started):
                    self.events_accepted += len(raws)

        await self.open_loop(self.args.batch / self.args.events_per_second, send)
        senders.close()

    async def shoppers(self):
        """Each shopper's browser sends four views of one vehicle in one batch: the fourth raises the alert."""
        if self.args.alerts_per_second <= 0:
            return
        rng = random.Random(11)
        senders = Senders(self.port, self.args.collector_connections)
        self.senders.append(senders)
        queue = iter(self.world.shoppers)

        async def send():
            shopper = next(queue, None)
            if shopper is None:
                return
            customer_id, store, anonymous_id = shopper
            vehicle = rng.choice(self.world.stores[store].vehicles)
            raws = [vdp_raw(vehicle, anonymous_id, f"{anonymous_id}-{v}") for v in range(4)]
            started = time.perf_counter()
            status = await senders.post(self.world.stores[store].write_key, raws)
            now = time.perf_counter()
            if status is None:
                return
            self.recorder.add("shopper /v1/batch (raises an alert)", started, status)
            if status == 200 and self.recorder.measuring(started):
                self.alert_started[customer_id] = now  # stored, committed, scoring queued
                self.alert_started_wall[customer_id] = time.time()
                self.alert_during_import[customer_id] = bool(self.importer and self.importer.running_at(now))

        await self.open_loop(1 / self.args.alerts_per_second, send)
        senders.close()

    async def feed_client(self, k: int, store: int, session_key: str):
        """A BDC agent's browser tab on the live feed; reconnects and resumes by id as the page's script does."""
        import websockets

        loop = asyncio.get_running_loop()
        after = self.world.last_alert_id  # the seeded year of alerts is history, not the live feed
        ready = False
        while loop.time() < self.feeds_stop_at:
            connecting, opened = time.perf_counter(), False
            try:
                async with websockets.connect(
                        f"ws://127.0.0.1:{self.port}/ws/alerts/", origin=f"http://127.0.0.1:{self.port}",
                        additional_headers={"Cookie": f"{self.cookie_name}={session_key}"}, proxy=None,
                        max_size=2**22, open_timeout=30) as ws:
                    opened = True
                    self.recorder.add("feed (re)connect: websocket handshake", connecting, 101)
                    await ws.send(json.dumps({"type": "resume", "after": after}))
                    await ws.send(json.dumps({"type": "ping"}))
                    while loop.time() < self.feeds_stop_at:
                        try:
                            raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                        except asyncio.TimeoutError:
                            continue
                        now = time.perf_counter()
                        frame = json.loads(raw)
                        if frame["type"] == "pong" and not ready:
                            ready = True
                            self.feeds_ready += 1
                        elif frame["type"] == "alert":
                            after = max(after, frame["id"])
                            customer = (frame["alert"].get("customer") or {}).get("id")
                            if customer is not None and frame["parent_id"] is None:
                                self.arrivals[customer].setdefault(k, now)
                                self.first_arrival_wall.setdefault(customer, time.time())
            except Exception as exc:  # noqa: BLE001 - counted: a dropped feed is a finding
                if not opened:
                    self.recorder.add("feed (re)connect: websocket handshake", connecting, 0)
                # The reason says who gave up: the server's liveness probe (1011 from the server), the
                # client's keepalive ping, or a handshake that took longer than open_timeout.
                self.feed_refused[f"{type(exc).__name__}: {str(exc)[:90]}"] += 1
                if not ready and sum(self.feed_refused.values()) > 3 * len(self.world.feed):
                    return
                self.feed_reconnects += 1
                await asyncio.sleep(1)

    async def manager(self, j: int, store: int | None, session_key: str):
        """Opens the dashboard, then changes the period or, for the group's manager (store None), the store
        (the htmx refresh of its body)."""
        rng = random.Random(200 + j)
        http = Http(self.port, [("Cookie", f"{self.cookie_name}={session_key}")])
        presets = ["7", "30", "90", "365"]
        turn = [0]

        async def step():
            if turn[0] % 4 == 0:
                kind, path, headers = "dashboard page", "/dashboards/?preset=30", []
            else:
                query = f"preset={rng.choice(presets)}"
                if store is None and rng.random() < 0.3:
                    query += f"&rooftop={rng.choice(self.world.stores).id}"
                kind, path = "dashboard htmx refresh", f"/dashboards/?{query}"
                headers = [("HX-Request", "true"), ("HX-Target", "kpi-body")]
            turn[0] += 1
            started = time.perf_counter()
            status, _ = await http.request("GET", path, headers=headers)
            self.recorder.add(kind, started, status)

        think = self.args.manager_think
        await self.paced(think * rng.uniform(0.8, 1.2), rng.uniform(0, think), step)
        http.close()

    async def salesperson(self, j: int, store: int, session_key: str):
        """Searches the store's customers as the search box does (by name, last name, phone), then opens one."""
        rng = random.Random(300 + j)
        http = Http(self.port, [("Cookie", f"{self.cookie_name}={session_key}")])
        first, count = self.world.first_customer_id, self.world.customers

        def customer_at_store() -> int:
            """A customer known at this salesperson's store ((id - first) % 10); one in five has the long history
            (the seed gives it to offsets 0-9 of every thousand)."""
            step = 1000 if rng.random() < 0.2 else ROOFTOPS
            return rng.randrange(count // step) * step + store

        async def step():
            offset = customer_at_store()
            g = offset + 1  # bench_dashboards names customer g "First<g> Last<g % 997>"
            query = rng.choice([f"First{g} Last{g % 997}", f"Last{g % 997}", f"{offset % 10_000_000:07d}",
                                f"Frist{g}"])
            started = time.perf_counter()
            status, body = await http.request("GET", f"/customers/?q={quote(query)}",
                                              headers=[("HX-Request", "true"), ("HX-Target", "search-results")])
            self.recorder.add("customer search (htmx)", started, status)
            hits = [int(m) for m in CUSTOMER_ID.findall(body)] if status == 200 else []
            await asyncio.sleep(self.args.salesperson_think / 2 * rng.uniform(0.5, 1.5))
            if time.perf_counter() >= self.stop_at:
                return
            customer_id = hits[0] if hits else first + offset
            started = time.perf_counter()
            status, _ = await http.request("GET", f"/customers/{customer_id}/")
            self.recorder.add("customer page", started, status)

        think = self.args.salesperson_think
        await self.paced(think, rng.uniform(0, think), step)
        http.close()


# --- the run -----------------------------------------------------------------------------------------------

def main() -> int:
    args = parse_args()
    url, params = use_bench_database(BENCH_DB)
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    os.environ["MEDIA_ROOT"] = str(work / "media")  # the worker reads the uploaded DMS files from here
    os.environ["DEBUG"] = "false"
    import django

    recreate_database(params, BENCH_DB)
    django.setup()
    from django.core.management import call_command

    started = time.monotonic()
    print(f"migrating and seeding {BENCH_DB} ...", flush=True)
    call_command("migrate", verbosity=0)
    flush_bench_redis()
    world = seed(args)
    print(f"  seeded in {time.monotonic() - started:.0f} s: {world.seed_seconds}", flush=True)
    files = []
    if args.with_import:
        from bench.dms_export import write_export

        t = time.monotonic()
        paths = write_export(work / "export.csv", rows=args.import_rows, kind="sales_and_service", seed=7)
        files = list(zip(paths, ["sales", "repair_orders"]))
        print(f"  wrote a {args.import_rows:,}-row DMS export in {time.monotonic() - t:.0f} s", flush=True)
    close_database_connections()

    # Every simulated browser sends from 127.0.0.1, where thousands of shoppers come from thousands of addresses:
    # the collector's per-address limit (20 batches/s) would refuse the load itself. The per-key limit stays.
    env = dict(os.environ, PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING", RATE_LIMIT_COLLECTOR_PER_ADDRESS="1000000/60")
    port = free_port()
    web = start_web(env, port, processes=args.web_processes)
    from crm import queues

    groups = list(queues.WORKERS) if args.worker_groups else ["all"]
    workers = [start_worker(env, pool=args.worker_pool, concurrency=args.worker_concurrency, prefetch=args.prefetch,
                            queues=queues.consumed(group), name=group) for group in groups]
    sampler = importer = None
    try:
        wait_ready(port)
        sampler = Sampler(web.pid, [worker.pid for worker in workers])
        sampler.start()
        importer = ImportDriver(world.stores[0].id, files) if files else None
        load = Load(args, world, port, importer)
        timing = asyncio.run(load.run())
        if importer is not None:
            importer.stop_event.set()
            importer.join(30)
        sampler.stop_event.set()
        sampler.join(5)
        result = results(args, world, load, sampler, importer, timing)
    finally:
        if importer is not None:
            importer.stop_event.set()
        if sampler is not None:
            sampler.stop_event.set()
        stop(web)
        for worker in workers:
            stop(worker)
        close_database_connections()
        if not args.keep:
            drop_database(params, BENCH_DB)
        shutil.rmtree(work, ignore_errors=True)
    report(result)
    write_results("bench_load", result)
    return 0 if result["errors_5xx"] == 0 and result["alerts"]["missing"] == 0 else 1


def results(args, world: World, load: Load, sampler: Sampler, importer: ImportDriver | None, timing: dict) -> dict:
    from alerts.models import Alert
    from crm import queues
    from tracking.models import TrackedEvent

    window = timing["window_seconds"]
    kinds = {}
    for kind in sorted(load.recorder.latencies):
        values, statuses = load.recorder.latencies[kind], load.recorder.statuses[kind]
        s = summary(values)
        kinds[kind] = {"count": s["n"], "per_second": round(s["n"] / window, 2), "p50_ms": s["p50_ms"],
                       "p99_ms": s["p99_ms"], "max_ms": s["max_ms"],
                       "errors": {str(code): n for code, n in sorted(statuses.items()) if code not in (200, 101)}}
    errors_5xx = sum(n for statuses in load.recorder.statuses.values() for code, n in statuses.items() if code >= 500)
    failed_connections = sum(statuses.get(0, 0) for statuses in load.recorder.statuses.values())

    first, every, during, outside = [], [], [], []
    for customer, started in load.alert_started.items():
        arrived = load.arrivals.get(customer)
        if not arrived:
            continue
        latency = (min(arrived.values()) - started) * 1000
        first.append(latency)
        every += [(moment - started) * 1000 for moment in arrived.values()]
        (during if load.alert_during_import.get(customer) else outside).append(latency)
    feed_per_store = Counter(store for store, _ in world.feed)
    expected_frames = sum(feed_per_store[load.store_of_customer[c]] for c in load.alert_started)
    # Where the time goes, from the rows: queued (stored → scoring starts), worker (→ pushed), delivery.
    queued, working, delivering = [], [], []
    for customer_id, created, pushed in Alert.unscoped.filter(
            customer_id__in=list(load.alert_started), parent__isnull=True).values_list(
            "customer_id", "created_at", "last_pushed_at"):
        if pushed is not None and customer_id in load.first_arrival_wall:
            queued.append((created.timestamp() - load.alert_started_wall[customer_id]) * 1000)
            working.append((pushed.timestamp() - created.timestamp()) * 1000)
            delivering.append((load.first_arrival_wall[customer_id] - pushed.timestamp()) * 1000)
    alerts = {
        "raised": len(load.alert_started), "missing": len(load.alert_started) - len(first),
        "first_client": summary(first), "every_client": summary(every),
        "frames_expected": expected_frames, "frames_received": len(every),
        "breakdown": {"queued_before_worker": summary(queued), "worker_scoring_to_push": summary(working),
                      "push_to_first_frame": summary(delivering)},
    }
    if importer is not None:
        alerts["while_import_ran"] = summary(during)
        alerts["while_no_import_ran"] = summary(outside)
    # The collector answered 200 only once the events were stored: every accepted one must be there.
    stored = TrackedEvent.unscoped.filter(message_id__startswith="bg").count()
    mb = lambda values: round(max(values), 1) if values else None  # noqa: E731
    result = {
        "benchmark": "load",
        "when": datetime.now(dt_timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "load_average_at_start": [round(x, 2) for x in timing["load_average_start"]],
                    "load_average_at_end": [round(x, 2) for x in timing["load_average_end"]]},
        "settings": {k: getattr(args, k) for k in (
            "duration", "warmup", "events_per_second", "batch", "collector_connections", "alerts_per_second",
            "feed_clients", "managers", "salespeople", "manager_think", "salesperson_think", "customers",
            "with_import", "import_rows", "web_processes", "worker_pool", "worker_concurrency", "prefetch",
            "worker_groups")},
        "seed_seconds": world.seed_seconds,
        "measured_seconds": round(window, 1),
        "requests": kinds,
        "errors_5xx": errors_5xx,
        "failed_connections": failed_connections,
        "failed_connections_by_reason": dict(Http.failures),
        "collector_batches_not_sent_at_cap": sum(s.not_sent for s in load.senders),
        "collector_events_per_second": round(load.events_accepted / window, 1),
        "collector_events_accepted": load.events_accepted_total,
        "collector_events_stored": stored,
        "alerts": alerts,
        "feed": {"clients": len(world.feed), "reconnects": load.feed_reconnects,
                 "errors": dict(load.feed_refused)},
        "queue_depth_max": {q: max(v) if v else None for q, v in sampler.queue_depth.items()},
        "queue_depth_end": {q: v[-1] if v else None for q, v in sampler.queue_depth.items()},
        "rss_mb": {"web_peak": mb(sampler.web_mb), "web_end": sampler.web_mb[-1] if sampler.web_mb else None,
                   "worker_peak": mb(sampler.worker_mb),
                   "worker_end": sampler.worker_mb[-1] if sampler.worker_mb else None,
                   "web_processes": args.web_processes,
                   "worker_processes": (len(queues.WORKERS) if args.worker_groups else 1)
                   * (1 + (args.worker_concurrency if args.worker_pool == "prefork" else 0))},
    }
    if importer is not None:
        result["dms_import"] = {"imports": importer.imports, "error": importer.error}
    return result


def report(result: dict) -> None:
    s, a = result["settings"], result["alerts"]
    print(f"\nload for {result['measured_seconds']} s: collector {result['collector_events_per_second']} events/s "
          f"(target {s['events_per_second']}; {result['collector_events_stored']:,} stored of "
          f"{result['collector_events_accepted']:,} accepted), {s['feed_clients']} feed clients, "
          f"{s['managers']} managers, "
          f"{s['salespeople']} salespeople{', a DMS import loading' if s['with_import'] else ''}; "
          f"web x{s['web_processes']}, "
          f"{'a worker per compose group' if s['worker_groups'] else 'one worker'} {s['worker_pool']} "
          f"x{s['worker_concurrency']}")
    print(f"\n{'kind of request':<38} {'count':>7} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  errors")
    for kind, row in result["requests"].items():
        print(f"{kind:<38} {row['count']:>7} {row['per_second']:>7} {row['p50_ms']:>8} {row['p99_ms']:>8} "
              f"{row['max_ms']:>8}  {row['errors'] or '-'}")
    fc, ec, b = a["first_client"], a["every_client"], a["breakdown"]
    print(f"\nevent -> alert frame: {a['raised']} raised, {a['missing']} missing; first client of the store p50 "
          f"{fc['p50_ms']} ms, p99 {fc['p99_ms']} ms, max {fc['max_ms']} ms; every client ({a['frames_received']} of "
          f"{a['frames_expected']} frames) p50 {ec['p50_ms']} ms, p99 {ec['p99_ms']} ms")
    print(f"  breakdown p50/p99 ms: queued {b['queued_before_worker']['p50_ms']}/{b['queued_before_worker']['p99_ms']}"
          f"  worker {b['worker_scoring_to_push']['p50_ms']}/{b['worker_scoring_to_push']['p99_ms']}"
          f"  push->frame {b['push_to_first_frame']['p50_ms']}/{b['push_to_first_frame']['p99_ms']}")
    if "while_import_ran" in a:
        d, o = a["while_import_ran"], a["while_no_import_ran"]
        print(f"  while the import ran ({d['n']}): p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms; "
              f"otherwise ({o['n']}): p50 {o['p50_ms']} ms, p99 {o['p99_ms']} ms")
        for row in result["dms_import"]["imports"]:
            print(f"  DMS import {row['kind']}: {row['status']}, {row['rows_done']:,} of {row['total_rows']} rows "
                  f"in {row['seconds']} s ({row['rows_per_second']} rows/s)")
        if result["dms_import"]["error"]:
            print(f"  DMS import error: {result['dms_import']['error']}")
    r = result["rss_mb"]
    print(f"\nRSS peak: web {r['web_peak']} MB ({r['web_processes']} process(es)), worker {r['worker_peak']} MB "
          f"({r['worker_processes']} processes)")
    print(f"queue depth max {result['queue_depth_max']}, at the end {result['queue_depth_end']}")
    feed = result["feed"]
    print(f"feed: {feed['clients']} clients, {feed['reconnects']} reconnects {feed['errors'] or ''}")
    m = result["machine"]
    print(f"load average (1, 5, 15 min) at start {m['load_average_at_start']}, at end {m['load_average_at_end']} "
          f"on {m['cpus']} cores")
    verdict = "none" if result["errors_5xx"] == 0 else f"{result['errors_5xx']} -- FINDING"
    print(f"5xx answers: {verdict}; failed connections or timeouts: {result['failed_connections']} "
          f"{result['failed_connections_by_reason'] or ''}; batches not sent (senders' cap reached): "
          f"{result['collector_batches_not_sent_at_cap']}")


if __name__ == "__main__":
    sys.exit(main())
