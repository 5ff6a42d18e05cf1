"""Shared fixtures. Tests talk to the real PostgreSQL and Redis; the `celery_worker` and `live_server_url`
fixtures start a real Celery worker and a real ASGI server (uvicorn) against the test database."""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from factories import RooftopFactory, make_staff
from support import ROOT, RedisServer, kill_group, stop_process, subprocess_env, uvicorn_start
from rooftops.models import Role

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs inside an event loop


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["support.CheapArgon2PasswordHasher", *settings.PASSWORD_HASHERS]


@pytest.fixture(autouse=True)
def _handoff_breaker_closed():
    """A test that made a Redis hand-off fail must not make the next test skip its publishes."""
    from crm import handoff

    handoff.breaker.reset()
    yield
    handoff.flush(timeout=5)
    handoff.breaker.reset()


@pytest.fixture(scope="session", autouse=True)
def _flush_passes_the_access_log():
    """The access log refuses TRUNCATE (rooftops migration 0002); a transactional test's flush is the one
    privileged purge the suite runs, so it runs as a retention purge would: with ordinary triggers off for
    its own transaction only (`SET LOCAL session_replication_role`, a superuser setting)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        return original(self, ["SET LOCAL session_replication_role = replica", *sql_list])

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = original


@pytest.fixture(autouse=True)
def _rate_limit_counters_cleared():
    """Every test sends from 127.0.0.1: counts left by earlier tests must not limit this one."""
    from crm import ratelimit

    ratelimit.breaker.reset()
    try:
        client = ratelimit._redis()
        keys = list(client.scan_iter(f"{ratelimit.KEY_PREFIX}:*", count=1000))
        if keys:
            client.delete(*keys)
    except Exception:  # noqa: BLE001 - a test that stopped Redis on purpose
        pass
    yield


@pytest.fixture(autouse=True)
def _scoring_hints_cleared():
    """Visitors an earlier test left pending, and its drainers' holds (their tasks purged or never consumed),
    must not keep this test's hints from publishing a drainer until the holds expire."""
    from alerts import pending

    try:
        pending.forget_all()
    except Exception:  # noqa: BLE001 - a test that stopped Redis on purpose
        pass
    yield


@dataclass
class World:
    """Two stores of one group, and the staff a view test needs: owner, teammate, outsider."""

    rooftop: object
    other_rooftop: object
    manager: object
    bdc: object
    salesperson: object
    teammate: object
    advisor: object
    outsider: object  # a salesperson at the other rooftop: must see nothing of `rooftop`


@pytest.fixture
def world(db) -> World:
    rooftop = RooftopFactory(name="Lakeside Test Toyota")
    other = RooftopFactory(dealer_group=rooftop.dealer_group, name="Summit Test Honda", time_zone="America/Denver")
    return World(
        rooftop=rooftop,
        other_rooftop=other,
        manager=make_staff(rooftop, Role.MANAGER, display_name="Morgan Manager"),
        bdc=make_staff(rooftop, Role.BDC_AGENT, display_name="Bea BDC"),
        salesperson=make_staff(rooftop, Role.SALESPERSON, display_name="Sam Sales"),
        teammate=make_staff(rooftop, Role.SALESPERSON, display_name="Tia Teammate"),
        advisor=make_staff(rooftop, Role.SERVICE_ADVISOR, display_name="Sid Service"),
        outsider=make_staff(other, Role.SALESPERSON, display_name="Olly Outsider"),
    )


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker process on the test database; tests using it need django_db(transaction=True)."""
    from crm import queues
    from crm.celery import app

    app.control.purge()  # every declared queue (CELERY_TASK_QUEUES)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm", "worker", "-l", "warning", "--concurrency", "2",
         "-Q", queues.consumed("all"), "--without-gossip", "--without-mingle", "-n", f"test-{os.getpid()}@%h"],
        cwd=ROOT, env=subprocess_env(),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            break
        if process.poll() is not None:
            raise RuntimeError("the Celery worker exited during start-up")
    else:
        stop_process(process)
        raise RuntimeError("the Celery worker did not answer a ping within 30 s")
    _WORKER_NAMES.append(f"test-{os.getpid()}@{socket.gethostname()}")
    yield process
    _WORKER_NAMES.clear()
    stop_process(process)


_WORKER_NAMES: list[str] = []


@pytest.fixture(autouse=True)
def _worker_idle_before_flush(request):
    """Once the session's worker runs, a transactional test's committed work (a lead's first response, a
    scoring hint) reaches it and may still be running when the test's database is flushed: TRUNCATE and that
    task then deadlock. Before the flush (this fixture is torn down first), drop what is queued and wait for
    the worker's running tasks to end."""
    marker = request.node.get_closest_marker("django_db")
    if not marker or not marker.kwargs.get("transaction"):
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up before us, so flushed after our teardown
    yield
    if not _WORKER_NAMES:
        return
    from crm.celery import app

    # Idle means idle for a while: a live server's publisher thread may still hand the worker a hint (scoring
    # of the last events it stored) just after a first look, and a task the worker has prefetched is not
    # "active" yet. So: purge, and look at running and prefetched tasks until three looks in a row find none.
    deadline = time.monotonic() + 15
    quiet = 0
    while time.monotonic() < deadline and quiet < 3:
        app.control.purge()
        inspect = app.control.inspect(destination=_WORKER_NAMES, timeout=1)
        busy = any((inspect.active() or {}).values()) or any((inspect.reserved() or {}).values())
        quiet = 0 if busy else quiet + 1
        time.sleep(0.05)


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of this test only: stop or freeze it, or give it workers of the test's choosing."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.thaw()
        server.stop()


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, django_db_blocker):
    """The real ASGI app (HTTP and websockets) under uvicorn on a free loopback port."""
    process, url = uvicorn_start(subprocess_env())
    yield url
    kill_group(process)


@pytest.fixture
def start_live_server(django_db_setup):
    """`start_live_server(NAME=value, ...)`: another server like live_server_url's, for this test only, with
    more environment (another channel-layer configuration, a shorter liveness period); stopped at teardown."""
    started: list[subprocess.Popen] = []

    def start(**extra_env: str) -> str:
        process, url = uvicorn_start(subprocess_env() | extra_env)
        started.append(process)
        return url

    yield start
    for process in started:
        kill_group(process)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium: Playwright's own browser download cannot work on this machine."""
    return {**browser_type_launch_args, "executable_path": os.environ.get("CHROMIUM", "/usr/bin/chromium")}


@pytest.fixture
def fake_twilio(settings):
    """A Twilio-compatible server on loopback, with the CRM's SMS settings pointing at it."""
    from fake_twilio import FakeTwilio

    fake = FakeTwilio().start()
    settings.SMS_BACKEND = "customers.sms.TwilioSmsBackend"
    settings.TWILIO_ACCOUNT_SID = fake.account_sid
    settings.TWILIO_AUTH_TOKEN = fake.auth_token
    settings.TWILIO_FROM_NUMBER = "+16175550100"
    settings.TWILIO_API_BASE = fake.base_url
    settings.SMS_HTTP_TIMEOUT_SECONDS = 3
    yield fake
    fake.stop()
