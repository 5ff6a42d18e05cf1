"""Which Celery queue each task goes to, and which worker consumes which queues: the one place that decides.

Work is split by how long it may wait, so a long job never sits in front of a short urgent one: a shopper's
intent is scored (and the alert raised) within seconds while a 200,000-row DMS import or a campaign to 30,000
customers runs for minutes on other processes. Settings turn TASK_ROUTES into CELERY_TASK_ROUTES; `make run`
and the test suite run one worker on ALL queues; docker-compose.yml runs one worker per group of WORKERS:

    python -m crm.queues all        -> the -Q list of a worker that does everything
    python -m crm.queues realtime   -> the -Q list of docker-compose's worker-realtime

No task passes `queue=` itself (not in @shared_task, not at .delay()): a route there would hide from this table.
Plain Python, importable without Django, so a container's command line can ask it.
"""

from __future__ import annotations

import sys

SCORING = "scoring"  # a shopper's events folded into their intent, and the alerts that raises
MESSAGES = "messages"  # texts and emails to customers: the outbox, the assistant's replies
WEBHOOKS = "webhooks"  # deliveries to the stores' own systems
IMPORTS = "imports"  # bulk: DMS imports, inventory feeds, campaign and price-drop sends, rollups, model fits
SWEEPS = "sweeps"  # beat-driven sweeps and housekeeping that hand the heavy part on (or have none)
# Celery's default queue: a task missing from TASK_ROUTES still runs (the sweeps worker takes it), and the route
# test names it. Kept for messages an older release queued there before the split.
DEFAULT = "celery"

QUEUES: tuple[str, ...] = (SCORING, MESSAGES, WEBHOOKS, IMPORTS, SWEEPS, DEFAULT)

TASKS: dict[str, tuple[str, ...]] = {
    SCORING: (
        # One drainer per shard of shoppers waiting to be scored (alerts/pending.py), published by a hint only
        # when its shard has none; score_visitor_events is one shopper's task, as an older release queued it.
        "alerts.tasks.score_pending",
        "alerts.tasks.score_visitor_events",
        # Every 10 s: the unscored events a lost hint left behind, abandoned forms, expiry and snoozes. It raises
        # alerts, so it waits behind nothing but scoring.
        "alerts.tasks.sweep",
    ),
    MESSAGES: (
        "customers.tasks.send_outbound_message",
        # The outbox's beat sweep sends what is due itself (up to 200): it is delivery, so it runs beside it.
        "customers.tasks.send_due_messages",
        "assistant.tasks.answer_text",
    ),
    WEBHOOKS: (
        "rooftops.tasks.deliver_webhook",
        "rooftops.tasks.send_due_webhooks",  # as send_due_messages: the sweep delivers
    ),
    IMPORTS: (
        "dms.tasks.dms_import_run",
        "leads.tasks.inventory_feed_run",
        "marketing.tasks.campaign_send",
        # A drop writes a message to every subscriber of the car, and the sweep dispatches drops itself.
        "marketing.price_drop_tasks.price_drop_dispatch",
        "marketing.price_drop_tasks.sweep",
        "kpis.tasks.rollups_refresh_rooftop",
        "kpis.tasks.rollups_rebuild_rooftop",
        "service.tasks.opportunities_scan_nightly",  # every owned vehicle of every store
        "service.tasks.opportunities_scan_store",
        "alerts.tasks.scoring_fit",  # a store's sales history: minutes, and never on the scoring workers
    ),
    SWEEPS: (
        "leads.tasks.sweep_lead_clocks",  # every 15 s: a bulk job in front of it would make reroutes late
        "leads.tasks.inventory_feeds_scheduled",  # queues one inventory_feed_run per store
        "marketing.tasks.campaigns_due",  # queues campaign_send
        "dms.tasks.dms_imports_sweep",  # queues dms_import_run again for an import whose worker died
        "kpis.tasks.rollups_refresh_all",  # fans out one rollups_refresh_rooftop per store
        "kpis.tasks.rollups_rebuild_nightly",
        "customers.tasks.erase_customer",
        "customers.tasks.resume_erasures",
        "customers.tasks.retention_purge",
        "rooftops.tasks.idempotency_keys_purge_expired",
        "rooftops.tasks.prune_webhook_deliveries",
        "tracking.tasks.partitions_maintain",
    ),
}

TASK_ROUTES: dict[str, dict[str, str]] = {task: {"queue": queue} for queue, tasks in TASKS.items() for task in tasks}

# docker-compose.yml runs `worker-<group>` for each (scaled with `--scale worker-<group>=N`); every queue is
# consumed by exactly one group, so a group's backlog is its own.
WORKERS: dict[str, tuple[str, ...]] = {
    "realtime": (SCORING, WEBHOOKS),  # short and urgent; a webhook is one bounded HTTP call
    "messages": (MESSAGES,),  # provider calls (Twilio, email) that may be slow; never in front of scoring
    "sweeps": (SWEEPS, DEFAULT),
    "bulk": (IMPORTS,),
}


def consumed(group: str) -> str:
    """The -Q argument of a worker of `group`, or of one worker for everything ("all")."""
    if group == "all":
        return ",".join(QUEUES)
    return ",".join(WORKERS[group])


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("all", *WORKERS):
        sys.exit(f"usage: python -m crm.queues all|{'|'.join(WORKERS)}")
    print(consumed(sys.argv[1]))
