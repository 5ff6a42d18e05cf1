"""Periodic sweeps for lead routing and customer messaging (merged into CELERY_BEAT_SCHEDULE by crm.beat).

Deadlines and due messages live in PostgreSQL and these sweeps find them, instead of Celery countdowns:
a countdown hours long dies with a worker restart, and a retried one can fire twice.
"""

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
}
