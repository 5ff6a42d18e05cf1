"""What the benches that drive the whole stack share: a bench database of their own, uvicorn and a Celery
worker as subprocesses, their resident memory, percentiles, and the website events a collector receives.

Used by bench_alerts.py (event → alert frame latency) and bench_load.py (everything at once). Not a test.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_SECRET_KEY = "bench-secret-key"
BENCH_FIELD_KEY = "YmVuY2gtZmllbGQtZW5jcnlwdGlvbi1rZXktMDAwMDA="
# Every queue a deployed worker consumes (scripts/dev.py starts `make run`'s worker the same way).


# --- database ------------------------------------------------------------------------------------------

def bench_database_url(name: str) -> tuple[str, dict]:
    """The URL of database `name` on the server of DATABASE_URL, and DATABASE_URL's parsed parameters."""
    import dj_database_url

    base = os.environ.get("DATABASE_URL")
    if not base:
        sys.exit("DATABASE_URL is not set: run through `make bench ARGS=...`")
    params = dj_database_url.parse(base)
    host = params["HOST"] or ""
    netloc = f"{params['USER']}" + (f":{quote(params['PASSWORD'], safe='')}" if params.get("PASSWORD") else "")
    netloc += f"@{quote(host, safe='') if host.startswith('/') else host}"
    if params.get("PORT"):
        netloc += f":{params['PORT']}"
    return f"postgres://{netloc}/{name}", params


def _admin_connect(params: dict):
    import psycopg

    kwargs = {"dbname": "postgres", "user": params["USER"], "autocommit": True}
    for key in ("HOST", "PORT", "PASSWORD"):
        if params.get(key):
            kwargs[key.lower()] = params[key]
    return psycopg.connect(**kwargs)


def recreate_database(params: dict, name: str) -> None:
    with _admin_connect(params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(params: dict, name: str) -> None:
    with _admin_connect(params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def use_bench_database(name: str) -> tuple[str, dict]:
    """Point this process (and the servers it starts) at database `name`, with the settings a bench needs."""
    url, params = bench_database_url(name)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", BENCH_FIELD_KEY)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    return url, params


def close_database_connections() -> None:
    """Before the database is dropped: plain and pooled connections both (settings may use a psycopg pool)."""
    from django.db import connections

    connections.close_all()
    for conn in connections.all():
        if getattr(conn, "pool", None) is not None:
            conn.close_pool()


def flush_bench_redis() -> None:
    """The broker, channel layer and cache databases of this bench (REDIS_DB_OFFSET + 0..2)."""
    import redis
    from django.conf import settings

    for offset in range(3):
        redis.Redis.from_url(settings.REDIS_URL, db=settings.REDIS_DB_OFFSET + offset).flushdb()


# --- processes -----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], env: dict, *, quiet: bool = False) -> subprocess.Popen:
    """A server in its own process group, so stop() ends it and every child it forked."""
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL if quiet else None)


def start_web(env: dict, port: int, *, processes: int = 1) -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", "crm.asgi:application", "--host", "127.0.0.1", "--port", str(port),
               "--ws", "websockets-sansio", "--no-access-log", "--log-level", "warning"]
    if processes > 1:
        command += ["--workers", str(processes)]
    return start(command, env, quiet=True)


def start_worker(env: dict, *, pool: str = "prefork", concurrency: int = 2, prefetch: int = 1,
                 queues: str | None = None, name: str = "bench") -> subprocess.Popen:
    """A Celery worker on `queues` (a -Q list); every queue of the routing table when None, as `make run`'s."""
    from crm import queues as crm_queues

    queues = queues or crm_queues.consumed("all")
    return start([sys.executable, "-m", "celery", "-A", "crm", "worker", "-l", "warning", "--pool", pool,
                  "--concurrency", str(concurrency), "--prefetch-multiplier", str(prefetch), "-Q", queues,
                  "--without-gossip", "--without-mingle", "-n", f"{name}-{os.getpid()}@%h"], env)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wait_ready(port: int, timeout: float = 60) -> None:
    """uvicorn accepts connections and the Celery worker answers a ping."""
    from crm.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError(f"uvicorn or the Celery worker did not start within {timeout:.0f} s")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and every child it forked (uvicorn workers, prefork pool processes)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 1e6
    except psutil.NoSuchProcess:
        return 0.0


# --- numbers -------------------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def summary(values_ms: list[float]) -> dict:
    if not values_ms:
        return {"n": 0, "p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    return {
        "n": len(values_ms), "p50_ms": round(percentile(values_ms, 50), 2), "p90_ms": round(percentile(values_ms, 90), 2),
        "p99_ms": round(percentile(values_ms, 99), 2), "max_ms": round(max(values_ms), 2),
        "mean_ms": round(statistics.fmean(values_ms), 2),
    }


# --- what a dealer website sends -------------------------------------------------------------------------

def vdp_raw(vehicle, anonymous_id: str, message_id: str) -> dict:
    """A vehicle detail page view (Segment's track call, ASC event names) of one vehicle in stock."""
    return {"type": "track", "event": "asc_item_pageview", "anonymousId": anonymous_id, "messageId": message_id,
            "properties": {"item_id": vehicle.vin, "item_number": vehicle.stock_number, "item_year": vehicle.year,
                           "item_make": vehicle.make, "item_model": vehicle.model, "item_variant": vehicle.trim,
                           "item_price": vehicle.price_cents / 100}}


def browsing_raws(rng, vehicles, browser: str, first_n: int, count: int) -> list[dict]:
    """An anonymous shopper browsing: half page views, a quarter search results, a quarter detail pages.
    Scored like every event, alerting no one (an anonymous visitor has no customer to alert about)."""
    raws = []
    for n in range(first_n, first_n + count):
        roll = rng.random()
        if roll < 0.5:
            raws.append({"type": "track", "event": "asc_pageview", "anonymousId": browser,
                         "messageId": f"{browser}-{n}", "properties": {"page_type": "home"}})
        elif roll < 0.75:
            raws.append({"type": "track", "event": "asc_itemlist_pageview", "anonymousId": browser,
                         "messageId": f"{browser}-{n}", "properties": {"item_results": 24}})
        else:
            raws.append(vdp_raw(rng.choice(vehicles), browser, f"{browser}-{n}"))
    return raws


def write_results(name: str, results) -> Path:
    """bench/results/<name>-<UTC time>.json, and its path printed."""
    import json
    from datetime import datetime, timezone

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {path.relative_to(ROOT)}", flush=True)
    return path
