"""Collector ingest speed: /v1/batch (100 events a request) and single /v1/track requests, against real uvicorn
(2 workers) and real PostgreSQL, with the same rows inserted straight by psycopg COPY as the ceiling, and for single
events the same rows inserted by psycopg one transaction each as the baseline.

Run with `make bench ARGS=ingest` (DATABASE_URL/REDIS_URL come from scripts/dev.py). It creates its own database
`crm_bench_ingest`, migrates it, starts uvicorn on a free loopback port, sends a bounded number of requests
(each phase also stops after a time limit), prints the numbers and ratios, writes bench/results/ingest.json,
then stops the server and drops the database (--keep keeps it).

Scoring hand-off: when `alerts.tasks.score_soon` exists, every stored batch also queues scoring in Redis (the
bench's own Redis databases: shoppers waiting per shard and a drainer task per shard); both are deleted at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "crm_bench_ingest"
WRITE_KEY = "wk_bench_ingest"
BATCH_SIZE = 100
VISITORS_PER_BATCH = 10
EVENT_COLUMNS = ("received_at", "rooftop_id", "visitor_id", "customer_id", "message_id", "type", "event",
                 "occurred_at", "sent_at", "vin", "properties", "traits", "context")


def _db_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _event(n: int, batch: int, run: str) -> dict:
    """A realistic VDP event as track.js sends it (about 600 bytes of JSON)."""
    now = datetime.now(timezone.utc).isoformat()
    return {
        "type": "track", "event": "asc_item_pageview", "messageId": f"{run}-{batch}-{n}",
        "anonymousId": f"{run}-visitor-{batch}-{n % VISITORS_PER_BATCH}", "timestamp": now,
        "properties": {"item_id": "5YFB4MDE0RP0%05d" % (n % 100000), "item_number": f"LN{1000 + n % 170}",
                       "item_year": 2025, "item_make": "Toyota", "item_model": "RAV4", "item_variant": "XLE",
                       "item_price": 34995, "item_condition": "new", "page_type": "item"},
        "context": {"page": {"url": "https://www.lakesidetoyota.example/vehicles/LN1042/", "path": "/vehicles/LN1042/",
                             "referrer": "https://www.lakesidetoyota.example/inventory/", "title": "2025 Toyota RAV4"},
                    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
                    "library": {"name": "crm-track", "version": "1"}},
    }


def _run_clients(port: int, bodies: list[bytes], path: str, concurrency: int, time_limit: float):
    """Send each body once over keep-alive connections; returns (wall seconds, latencies, statuses)."""
    lock = threading.Lock()
    next_index = [0]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + time_limit
    headers = {"Content-Type": "application/json", "Authorization": "Basic "
               + __import__("base64").b64encode(f"{WRITE_KEY}:".encode()).decode()}

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local_lat, local_status = [], {}
        while time.monotonic() < deadline:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(bodies):
                break
            started = time.perf_counter()
            try:
                conn.request("POST", path, body=bodies[i], headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            local_lat.append(time.perf_counter() - started)
            local_status[status] = local_status.get(status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(local_lat)
            for k, v in local_status.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies, statuses


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=400, help="batch requests of 100 events")
    parser.add_argument("--singles", type=int, default=3000, help="single /v1/track requests")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=90.0, help="seconds per phase at most")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    base_url = os.environ["DATABASE_URL"]
    bench_url = _db_url(base_url, DB_NAME)
    with psycopg.connect(_db_url(base_url, "postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB_NAME}")
    env = dict(os.environ, DATABASE_URL=bench_url, DEBUG="false", PYTHONUNBUFFERED="1")
    # The limiter's Redis round trip is part of every request, so it stays on; one loopback sender would pass
    # the per-address and per-key limits within seconds, so those are lifted (as bench_load does).
    env.setdefault("RATE_LIMIT_COLLECTOR_PER_ADDRESS", "1000000/60")
    env.setdefault("RATE_LIMIT_COLLECTOR_PER_KEY", "1000000/60")
    env.setdefault("SECRET_KEY", "bench-secret-key")
    env.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtZmllbGQtZW5jcnlwdGlvbi1rZXktMDAwMDA=")
    print(f"migrating {DB_NAME} …", flush=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)

    with psycopg.connect(bench_url, autocommit=True) as conn:
        group_id = conn.execute("INSERT INTO rooftops_dealergroup (name, slug, require_second_factor)"
                                " VALUES ('Bench', 'bench', false) RETURNING id").fetchone()[0]
        rooftop_id = conn.execute(
            """INSERT INTO rooftops_rooftop (dealer_group_id, name, slug, time_zone, business_hours, phone, address,
               website_url, tracking_write_key, lead_intake_token, created_at, hold_email_in_quiet_hours, service_hours)
               VALUES (%s, 'Bench Toyota', 'bench-toyota', 'America/New_York', '{}', '', '', '', %s, 'bench-intake', now(),
                       false, '{}')
               RETURNING id""", [group_id, WRITE_KEY]).fetchone()[0]

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "crm.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(args.workers), "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    results: dict = {"workers": args.workers, "concurrency": args.concurrency, "cores": os.cpu_count()}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start") from None
                time.sleep(0.1)
        run = uuid.uuid4().hex[:8]
        # Warm-up: imports, first connections, write-key cache, in both workers.
        warm = [json.dumps({"batch": [_event(n, -1 - w, run + "w") for n in range(10)]}).encode() for w in range(20)]
        _run_clients(port, warm, "/v1/batch", 4, 30)

        batches = [[_event(n, b, run) for n in range(BATCH_SIZE)] for b in range(args.batches)]
        bodies = [json.dumps({"batch": batch, "sentAt": datetime.now(timezone.utc).isoformat()}).encode()
                  for batch in batches]
        print(f"batch phase: {len(bodies)} requests x {BATCH_SIZE} events, {args.concurrency} connections …",
              flush=True)
        wall, latencies, statuses = _run_clients(port, bodies, "/v1/batch", args.concurrency, args.time_limit)
        sent = statuses.get(200, 0)
        with psycopg.connect(bench_url) as conn:
            stored = conn.execute("SELECT count(*) FROM tracking_event WHERE message_id LIKE %s",
                                  [f"{run}-%"]).fetchone()[0]
        results["batch"] = {
            "requests": sum(statuses.values()), "statuses": statuses, "events_stored": stored,
            "events_expected": sent * BATCH_SIZE, "seconds": round(wall, 3),
            "events_per_second": round(stored / wall, 1),
            "request_p50_ms": round(_percentile(latencies, 0.5) * 1000, 1),
            "request_p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        }

        # Ceiling: the same rows straight into the same table with psycopg COPY, 100 rows a transaction
        # (durable like the collector's), then all rows in one transaction (bulk, for reference).
        with psycopg.connect(bench_url) as conn:
            visitors = dict(conn.execute("SELECT anonymous_id, id FROM tracking_visitor").fetchall())
            now = datetime.now(timezone.utc)

            def rows(batch, tag):
                for e in batch:
                    yield (now, rooftop_id, visitors[e["anonymousId"]], None, f"{tag}{e['messageId']}", "track",
                           e["event"], now, now, e["properties"]["item_id"][:17], Jsonb(e["properties"]), Jsonb({}),
                           Jsonb(e["context"]))

            copy_sql = f"COPY tracking_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
            started = time.perf_counter()
            for batch in batches:
                with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
                    for row in rows(batch, "c"):
                        copy.write_row(row)
                conn.commit()
            per_batch = time.perf_counter() - started
            started = time.perf_counter()
            with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for batch in batches:
                    for row in rows(batch, "b"):
                        copy.write_row(row)
            conn.commit()
            bulk = time.perf_counter() - started
        total = len(batches) * BATCH_SIZE
        results["copy_ceiling"] = {
            "events": total,
            "per_100_row_transaction_events_per_second": round(total / per_batch, 1),
            "one_transaction_events_per_second": round(total / bulk, 1),
        }
        results["ratio_http_to_copy_per_100"] = round(results["batch"]["events_per_second"] / (total / per_batch), 3)
        results["ratio_http_to_copy_bulk"] = round(results["batch"]["events_per_second"] / (total / bulk), 3)

        singles = [json.dumps({k: v for k, v in _event(n, 0, run + "s").items() if k != "type"}).encode()
                   for n in range(args.singles)]
        print(f"single phase: {len(singles)} /v1/track requests, {args.concurrency} connections …", flush=True)
        wall, latencies, statuses = _run_clients(port, singles, "/v1/track", args.concurrency, args.time_limit)
        results["single_track"] = {
            "requests": sum(statuses.values()), "statuses": statuses, "seconds": round(wall, 3),
            "requests_per_second": round(sum(statuses.values()) / wall, 1),
            "p50_ms": round(_percentile(latencies, 0.5) * 1000, 1),
            "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        }
        results["single_raw"] = _raw_singles(bench_url, rooftop_id, [json.loads(b) for b in singles],
                                             args.concurrency)
        results["ratio_single_to_raw"] = round(results["single_track"]["requests_per_second"]
                                               / results["single_raw"]["rows_per_second"], 3)
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
        _purge_scoring_queue(env)
        if not args.keep:
            with psycopg.connect(_db_url(base_url, "postgres"), autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")

    b, c, s = results["batch"], results["copy_ceiling"], results["single_track"]
    print(f"\n/v1/batch ({BATCH_SIZE} events a request, {args.workers} uvicorn workers, {args.concurrency} connections):")
    print(f"  {b['events_per_second']:>10,.0f} events/s   ({b['events_stored']} stored of {b['events_expected']} sent;"
          f" statuses {b['statuses']}; request p50 {b['request_p50_ms']} ms, p99 {b['request_p99_ms']} ms)")
    print("psycopg COPY of the same rows (ceiling):")
    print(f"  {c['per_100_row_transaction_events_per_second']:>10,.0f} events/s   100 rows a transaction"
          f"  -> ratio {results['ratio_http_to_copy_per_100']}")
    print(f"  {c['one_transaction_events_per_second']:>10,.0f} events/s   one transaction"
          f"  -> ratio {results['ratio_http_to_copy_bulk']}")
    print(f"/v1/track single events: {s['requests_per_second']:,.0f} requests/s, p50 {s['p50_ms']} ms,"
          f" p99 {s['p99_ms']} ms (statuses {s['statuses']})")
    print(f"psycopg INSERT + COMMIT of the same rows, one a transaction, {args.concurrency} connections (baseline):")
    print(f"  {results['single_raw']['rows_per_second']:>10,.0f} rows/s   -> ratio {results['ratio_single_to_raw']}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest.json").write_text(json.dumps(results, indent=2))
    ok = b["events_stored"] == b["events_expected"] and s["statuses"].get(200, 0) == s["requests"]
    return 0 if ok else 1


def _raw_singles(url: str, rooftop_id: int, events: list[dict], concurrency: int) -> dict:
    """The single-event baseline: the same rows, one INSERT and COMMIT each, from as many psycopg connections
    as the HTTP clients had (what storing each request in its own transaction costs PostgreSQL)."""
    with psycopg.connect(url) as conn:
        visitors = dict(conn.execute("SELECT anonymous_id, id FROM tracking_visitor").fetchall())
    sql = (f"INSERT INTO tracking_event ({', '.join(EVENT_COLUMNS)}) "
           f"VALUES ({', '.join(['%s'] * len(EVENT_COLUMNS))})")
    chunks = [events[i::concurrency] for i in range(concurrency)]
    now = datetime.now(timezone.utc)

    def insert(chunk):
        with psycopg.connect(url) as conn:
            for e in chunk:
                conn.execute(sql, (now, rooftop_id, visitors[e["anonymousId"]], None, f"r{e['messageId']}", "track",
                                   e["event"], now, now, e["properties"]["item_id"][:17], Jsonb(e["properties"]),
                                   Jsonb({}), Jsonb(e["context"])))
                conn.commit()

    threads = [threading.Thread(target=insert, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"rows": len(events), "seconds": round(wall, 3), "rows_per_second": round(len(events) / wall, 1)}


def _purge_scoring_queue(env: dict) -> None:
    """Scoring messages the collector queued during the bench (no worker takes them here)."""
    try:
        import redis

        sys.path.insert(0, str(ROOT))
        from crm.env import redis_db_url

        url = redis_db_url(env.get("REDIS_URL", "redis://127.0.0.1:6379/0"), int(env.get("REDIS_DB_OFFSET", "0")))
        client = redis.Redis.from_url(url, socket_timeout=2)
        client.delete("scoring", *client.scan_iter(match="alerts:scoring:*", count=1000))
    except Exception as exc:  # noqa: BLE001 - cleanup only
        print(f"(could not purge the scoring queue: {exc})")


if __name__ == "__main__":
    sys.exit(main())
