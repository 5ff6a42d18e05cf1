"""Helpers shared by tests and fixtures: child processes on this test run's database and Redis numbers."""

import os
import socket
import subprocess
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
