from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Daily, at a quiet hour (UTC); a run that finds nothing is a handful of indexed reads.
    "customers-retention-purge": {
        "task": "customers.tasks.retention_purge",
        "schedule": crontab(hour=4, minute=20),
    },
}
