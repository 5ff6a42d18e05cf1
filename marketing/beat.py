"""Campaign and price-drop sweeps (merged into CELERY_BEAT_SCHEDULE by crm.beat)."""

BEAT_SCHEDULE = {
    # Scheduled campaigns start within a minute of their time; a campaign whose worker died resumes.
    "marketing-campaigns-due": {
        "task": "marketing.tasks.campaigns_due",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Price drops whose after-commit hint was lost (a worker restart, Redis away) are sent within a minute.
    "marketing-price-drops": {
        "task": "marketing.price_drop_tasks.sweep",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}
