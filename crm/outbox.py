"""The one outbox mechanism: rows written in the caller's transaction, handed to Celery after commit, claimed
under a lease, and found again by a beat sweep. Customer messages (customers.messaging) and webhook deliveries
(rooftops.webhooks) are both built on it; what a row *is* and how it is sent stays with them.

How nothing is lost when a worker dies mid-send:

1. The row is written in the transaction of the change that caused it (a rollback leaves no row), and
   `hand_over_on_commit` asks Celery to send it only after commit. A hint lost on the way (Redis down, worker
   restarted) is found by the beat sweep (`due_ids`), which claims due rows itself.
2. `claim` moves a due row to the sending status in its own short transaction, under
   `SELECT ... FOR UPDATE SKIP LOCKED`: two workers never claim the same row, and a claim is visible to all.
3. The call to the outside world happens outside any transaction.
4. Only the claimant records the outcome (`record` matches the row's `claimed_at`), so a worker whose lease ran
   out and another worker that re-claimed the row cannot both write a result.
5. A row left in the sending status by a dead worker is due again once its lease has expired, and is sent again:
   at-least-once, so every row carries a stable id the receiver (SMS provider, mail system, webhook receiver)
   dedupes on.

Backoff schedules are in `crm.backoff` (pure).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models, transaction
from django.db.models import Q
from django.utils.module_loading import import_string

from crm.handoff import hand_off


@dataclass(frozen=True)
class Outbox:
    """One outbox table: its status values, the column saying when a row is due, its lease and its Celery task.

    The model has `status`, `claimed_at` and `attempts` columns and an `unscoped` manager (a TenantModel).
    """

    model: type[models.Model]
    due_statuses: tuple[str, ...]
    sending_status: str
    due_at_field: str
    lease_seconds: Callable[[], float]
    task: str  # dotted path of the Celery task that takes one row id

    def due(self, now: datetime) -> Q:
        """Rows to send now: waiting and due, or claimed by a worker whose lease has expired."""
        lease = timedelta(seconds=self.lease_seconds())
        return (Q(status__in=self.due_statuses, **{f"{self.due_at_field}__lte": now})
                | Q(status=self.sending_status, claimed_at__lte=now - lease))

    def claim(self, *, row_id: int, now: datetime, only: Q | None = None, select_related: Iterable[str] = (),
              settle: Callable[[models.Model], bool] | None = None):
        """Take one due row for sending; None when it is not due, not ours (another worker holds it), or when
        `settle` (called under the row lock) decided it is not to be sent now and saved why."""
        with transaction.atomic():
            rows = self.model.unscoped.select_for_update(skip_locked=True, of=("self",)).filter(self.due(now), pk=row_id)
            if only is not None:
                rows = rows.filter(only)
            if select_related:
                rows = rows.select_related(*select_related)
            row = rows.first()
            if row is None:
                return None
            if settle is not None and not settle(row):
                return None
            row.status, row.claimed_at, row.attempts = self.sending_status, now, row.attempts + 1
            row.save(update_fields=["status", "claimed_at", "attempts"])
            return row

    def record(self, row: models.Model, **fields) -> bool:
        """Write the outcome of a send if the row is still ours (same claim); False when the lease was lost."""
        return bool(self.model.unscoped.filter(pk=row.pk, status=self.sending_status,
                                               claimed_at=row.claimed_at).update(**fields))

    def due_ids(self, *, now: datetime, limit: int = 200, only: Q | None = None) -> list[int]:
        """What the beat sweep sends: due rows, oldest due first (a row a dead worker left behind included)."""
        rows = self.model.unscoped.filter(self.due(now))
        if only is not None:
            rows = rows.filter(only)
        return list(rows.order_by(self.due_at_field, "pk").values_list("pk", flat=True)[:limit])

    def hand_over_on_commit(self, row_id: int) -> None:
        """Queue the row's task once the transaction that wrote it commits (at once outside a transaction)."""
        task_path, what = self.task, f"{self.model._meta.label_lower} {row_id}"

        def hand_over() -> None:
            task = import_string(task_path)
            # Off the request's thread; when the broker is down or hung, the beat sweep sends it from the outbox.
            hand_off(lambda: task.delay(row_id), what=what)

        transaction.on_commit(hand_over)
