"""Benchmark: a store's first DMS import, a 200,000-row sales + service export, on the real stack.

    make bench ARGS=dms                       # 200,000 rows (about a third deals, two thirds RO lines)
    .venv/bin/python bench/bench_dms_import.py --rows 20000

The import runs as the worker runs it (dms.services.dms_import_execute: streaming read, validation, the batch
customer matcher, upserts, timeline, counts and resume position per chunk) against PostgreSQL in a fresh
database. Measured in the same run:

- first import: rows per second end to end, and the process's peak resident memory over it (sampled);
- the same files again (every row unchanged): rows per second;
- the raw baseline: COPY of the same files into plain text tables, rows per second; the ratio of the import's
  rate to COPY's says how much of the database's raw speed the import's work costs.

Writes bench/results/dms_import.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "crm_bench_dms"
ROWS = 200_000


def bench_database_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB}", parts.query, parts.fragment))


def fresh_database() -> None:
    import psycopg

    url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


class PeakMemory:
    """The process's resident memory, sampled every 50 ms while a block runs (RSS, not Python's heap)."""

    def __init__(self):
        import psutil

        self.process = psutil.Process()
        self.peak = self.start = self.process.memory_info().rss
        self._stop = threading.Event()

    def _sample(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def import_file(rooftop, path: Path, kind: str):
    from django.core.files import File

    from dms import services

    with path.open("rb") as handle:
        draft = services.dms_upload(rooftop=rooftop, kind=kind, upload=File(handle, name=path.name),
                                    file_name=path.name, user=None)
    start = services.dms_import_start(dms_import=draft, columns=draft.columns, queue=False)
    assert start.started, "another import is running"
    return services.dms_import_execute(import_id=draft.id)


def copy_baseline(files: list[Path]) -> tuple[int, float]:
    """COPY each file as it is into an unlogged table of text columns: the database's raw rate for these rows."""
    from django.db import connection

    rows = 0
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for n, path in enumerate(files):
            with path.open(encoding="utf-8") as handle:
                header = handle.readline().rstrip("\n").split(",")
            table = f"bench_copy_{n}"
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE UNLOGGED TABLE {table} ({', '.join(f'c{i} text' for i in range(len(header)))})")
            with path.open("rb") as handle, cursor.copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
            cursor.execute(f"SELECT count(*) FROM {table}")
            rows += cursor.fetchone()[0]
    return rows, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_DMS_ROWS", ROWS)))
    parser.add_argument("--profile", action="store_true", help="print where the first import's time goes")
    args = parser.parse_args()
    log = lambda message: print(f"  {message}", flush=True)  # noqa: E731

    fresh_database()
    work = Path(tempfile.mkdtemp(prefix="bench-dms-"))
    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ["MEDIA_ROOT"] = str(work / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtZmllbGQtZW5jcnlwdGlvbi1rZXktMDAwMDA=")
    import django

    django.setup()
    from django.core.management import call_command

    from bench.dms_export import write_export
    from rooftops.models import DealerGroup, Rooftop

    log("migrating the bench database ...")
    call_command("migrate", verbosity=0)
    group = DealerGroup.objects.create(name="Bench Group", slug="bench-group")
    rooftop = Rooftop.objects.create(dealer_group=group, name="Bench Toyota", slug="bench-toyota")
    log(f"writing a {args.rows:,}-row sales + service export ...")
    files = write_export(work / "export.csv", rows=args.rows, kind="sales_and_service", seed=7)
    kinds = ["sales", "repair_orders"]
    total_bytes = sum(p.stat().st_size for p in files)

    results: dict = {"rows": args.rows, "file_bytes": total_bytes}
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with PeakMemory() as memory:
        started = time.perf_counter()
        first = [import_file(rooftop, path, kind) for path, kind in zip(files, kinds)]
        first_seconds = time.perf_counter() - started
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    rows = sum(r.rows_done for r in first)
    assert all(r.status == "done" for r in first), [(r.status, r.error) for r in first]
    results["first_import"] = {
        "seconds": round(first_seconds, 2), "rows_per_second": round(rows / first_seconds),
        "added": sum(r.added for r in first), "updated": sum(r.updated for r in first),
        "unchanged": sum(r.unchanged for r in first), "refused": sum(r.failed for r in first),
        "rss_before_mb": round(memory.start / 2**20), "rss_peak_mb": round(memory.peak / 2**20),
    }
    log(f"first import: {rows:,} rows in {first_seconds:.1f} s = {rows / first_seconds:,.0f} rows/s; "
        f"RSS {memory.start / 2**20:.0f} MB -> peak {memory.peak / 2**20:.0f} MB")

    started = time.perf_counter()
    again = [import_file(rooftop, path, kind) for path, kind in zip(files, kinds)]
    again_seconds = time.perf_counter() - started
    results["reimport_same_files"] = {
        "seconds": round(again_seconds, 2), "rows_per_second": round(rows / again_seconds),
        "added": sum(r.added for r in again), "updated": sum(r.updated for r in again),
        "unchanged": sum(r.unchanged for r in again),
    }
    log(f"the same files again: {again_seconds:.1f} s = {rows / again_seconds:,.0f} rows/s "
        f"({results['reimport_same_files']['added']} added, {results['reimport_same_files']['updated']} updated)")

    copied, copy_seconds = copy_baseline(files)
    results["raw_copy"] = {"rows": copied, "seconds": round(copy_seconds, 3),
                           "rows_per_second": round(copied / copy_seconds)}
    results["ratio_import_to_copy"] = round((rows / first_seconds) / (copied / copy_seconds), 4)
    log(f"raw COPY of the same rows: {copy_seconds:.2f} s = {copied / copy_seconds:,.0f} rows/s; "
        f"the import runs at {results['ratio_import_to_copy']:.4f} of COPY's rate")
    log(f"target >= 2,000 rows/s: {'met' if rows / first_seconds >= 2000 else 'NOT met'}")

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "dms_import.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
