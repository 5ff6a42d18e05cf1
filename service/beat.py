"""The nightly scan of every owned vehicle for trade readiness (merged into CELERY_BEAT_SCHEDULE by crm.beat)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "service-opportunities-scan": {
        "task": "service.tasks.opportunities_scan_nightly",
        # 07:20 UTC: after midnight across US time zones, before any store opens.
        "schedule": crontab(minute=20, hour=7),
        "options": {"expires": 6 * 3600},
    },
}
