"""Periodic work for scoring and alerts, merged into CELERY_BEAT_SCHEDULE by crm.beat."""

BEAT_SCHEDULE = {
    "alerts-sweep": {
        "task": "alerts.tasks.sweep",
        "schedule": 10.0,
        # A sweep that could not run in time is replaced by the next one, not queued behind it.
        "options": {"expires": 20},
    },
}
