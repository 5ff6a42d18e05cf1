"""API upkeep: idempotency keys live 24 hours."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "idempotency-keys-purge": {
        "task": "rooftops.tasks.idempotency_keys_purge_expired",
        "schedule": crontab(minute=23),
    },
}
