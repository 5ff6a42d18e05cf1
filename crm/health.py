"""GET /healthz: 200 when PostgreSQL, Redis and at least one Celery worker answer; 503 naming what did not.

A read replica (`DATABASE_REPLICA_URL`) is reported beside the checks, not among them: when it is down or behind,
pages read the primary and still work, so the CRM is degraded, not unavailable.
"""

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, Error, connection, connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from crm import db_router
from crm.celery import app as celery_app


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return None
    except Exception as exc:  # noqa: BLE001 - any failure is "down", reported by name
        return f"{type(exc).__name__}: {exc}"[:200]


def _check_redis() -> str | None:
    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1).ping()
        return None
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"[:200]


def _check_worker() -> str | None:
    try:
        replies = celery_app.control.ping(timeout=1.0)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"[:200]
    return None if replies else "no Celery worker answered within 1 s"


def _replica_report() -> dict:
    """How far the replica is behind: the primary's WAL position minus what the replica replayed, in bytes.

    Bytes, not seconds: "now minus the last replayed commit" grows on a quiet primary that has nothing to send.
    """
    try:
        with connections[db_router.REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn(), pg_last_xact_replay_timestamp()")
            in_recovery, replayed_lsn, replayed_at = cursor.fetchone()
    except Error as exc:
        connections[db_router.REPLICA].close()  # never hand a broken connection to the next request
        return {"status": f"down ({type(exc).__name__}); pages read the primary"}
    if not in_recovery:
        return {"status": "not a standby; pages read the primary"}
    report = {"status": "ok", "bytes_behind": None,
              "last_replayed_commit": replayed_at.isoformat() if replayed_at else None,
              "reads": "primary (breaker open)" if db_router.breaker.is_open() else "replica"}
    if replayed_lsn is not None:
        try:
            with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", [replayed_lsn])
                report["bytes_behind"] = max(int(cursor.fetchone()[0]), 0)
        except Error:
            pass  # the primary's own check above says what is wrong with it
    return report


@never_cache
def healthz(request):
    checks = {"database": _check_database(), "redis": _check_redis()}
    # Pinging workers goes through Redis; without Redis the answer is already known.
    checks["celery_worker"] = _check_worker() if checks["redis"] is None else "skipped: Redis is down"
    failing = {name: error for name, error in checks.items() if error}
    body = {
        "status": "ok" if not failing else "unavailable",
        "checks": {name: ("ok" if not error else error) for name, error in checks.items()},
    }
    if failing:
        body["failing"] = sorted(failing)
    if db_router.replica_configured():
        body["replica"] = _replica_report()
        if body["replica"]["status"] != "ok":
            body["degraded"] = ["replica"]
    return JsonResponse(body, status=200 if not failing else 503)
