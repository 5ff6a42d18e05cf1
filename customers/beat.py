from celery.schedules import crontab

BEAT_SCHEDULE = {
    # A request whose task never arrived is carried out within the hour (a partial index makes this a no-op read).
    "customers-erasures-resume": {
        "task": "customers.tasks.resume_erasures",
        "schedule": crontab(minute="*/15"),
    },
    # Daily, at a quiet hour (UTC); a run that finds nothing is a handful of indexed reads.
    "customers-retention-purge": {
        "task": "customers.tasks.retention_purge",
        "schedule": crontab(hour=4, minute=20),
    },
}
