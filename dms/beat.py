"""Periodic sweep for DMS imports (merged into CELERY_BEAT_SCHEDULE by crm.beat): resume an import whose worker
was killed or restarted, and delete uploaded files nobody started."""

BEAT_SCHEDULE = {
    "dms-imports-sweep": {
        "task": "dms.tasks.dms_imports_sweep",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}
