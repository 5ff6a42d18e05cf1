"""API upkeep: idempotency keys live 24 hours. Webhooks: the outbox sweep every minute, the log pruned daily."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "idempotency-keys-purge": {
        "task": "rooftops.tasks.idempotency_keys_purge_expired",
        "schedule": crontab(minute=23),
    },
    "webhooks-send-due": {
        "task": "rooftops.tasks.send_due_webhooks",
        "schedule": 60.0,
    },
    "webhooks-prune-log": {
        "task": "rooftops.tasks.prune_webhook_deliveries",
        "schedule": crontab(hour=4, minute=35),
    },
}
