"""GET /healthz: 200 when PostgreSQL, Redis and at least one Celery worker answer; 503 naming what did not."""

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

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
    return JsonResponse(body, status=200 if not failing else 503)
