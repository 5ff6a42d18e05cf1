"""Periodic sweeps for lead routing and customer messaging (merged into CELERY_BEAT_SCHEDULE by crm.beat).

Deadlines and due messages live in PostgreSQL and these sweeps find them, instead of Celery countdowns:
a countdown hours long dies with a worker restart, and a retried one can fire twice.
"""

from celery.schedules import crontab

from crm.env import env_str

BEAT_SCHEDULE = {
    "leads-sweep-response-clocks": {
        "task": "leads.tasks.sweep_lead_clocks",
        "schedule": 15.0,
        # A sweep that could not run within its interval is replaced by the next one, not queued up.
        "options": {"expires": 14},
    },
    "customers-send-due-messages": {
        "task": "customers.tasks.send_due_messages",
        "schedule": 15.0,
        "options": {"expires": 14},
    },
    # Every store's inventory feed URL: hourly by default; INVENTORY_FEED_HOURS is crontab's hour field
    # ("5" for nightly at 05:00 UTC, "*/4" for every four hours).
    "leads-inventory-feeds": {
        "task": "leads.tasks.inventory_feeds_scheduled",
        "schedule": crontab(minute=41, hour=env_str("INVENTORY_FEED_HOURS", "*")),
        "options": {"expires": 50 * 60},
    },
}
