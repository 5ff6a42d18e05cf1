"""Campaign sweeps (merged into CELERY_BEAT_SCHEDULE by crm.beat)."""

BEAT_SCHEDULE = {
    # Scheduled campaigns start within a minute of their time; a campaign whose worker died resumes.
    "marketing-campaigns-due": {
        "task": "marketing.tasks.campaigns_due",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}
