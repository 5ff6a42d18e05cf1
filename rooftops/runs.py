"""Long work a manager starts and watches: fitting the scoring weights, an inventory feed load, a DMS import.

Each kind is a `BackgroundRun` row: one active run per store (a partial unique index on the subclass), progress
written at every chunk with a heartbeat, and a page that polls the row. `run_start` is the one way to start
one: a second click gets the running one; a run whose worker went silent (killed, message lost) is marked failed
and replaced instead of being pointed at forever.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from rooftops.models import Rooftop
from rooftops.tenancy import TenantModel


class BackgroundRun(TenantModel):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    # An active run whose worker has not reported for this long is taken as lost; the next start replaces it.
    STALE_AFTER = timedelta(minutes=10)
    # Fields emptied when a lost run is abandoned (an uploaded file nobody will read now).
    CLEARED_ON_ABANDON: tuple[str, ...] = ()

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)  # shown to the manager when status is failed
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched at every chunk: an active run that stops being touched lost its worker.
    heartbeat_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        abstract = True

    @property
    def active(self) -> bool:
        return self.status in self.ACTIVE

    def is_stale(self, *, now: datetime) -> bool:
        return self.active and self.heartbeat_at < now - self.STALE_AFTER


@dataclass(frozen=True)
class RunStart:
    run: Any  # the subclass of BackgroundRun that was asked for
    started: bool  # False: one was already running at this store, and `run` is that one


def run_start(model: type[BackgroundRun], *, rooftop: Rooftop, now: datetime | None = None,
              draft: BackgroundRun | None = None, **fields) -> RunStart:
    """A new run of `model` at the store, or the one already running there. Queue its task with
    `transaction.on_commit` when `started`; the caller's transaction (if any) decides when it is visible.
    `draft`: a row of `model` made earlier and not active (a DMS file waiting for its mapping) becomes the run."""
    now = now or timezone.now()
    with transaction.atomic():
        active = model.unscoped.select_for_update().filter(rooftop=rooftop, status__in=model.ACTIVE).first()
        if active is not None and not active.is_stale(now=now):
            return RunStart(run=active, started=False)
        if active is not None:
            active.status = model.Status.FAILED
            active.error = "Its worker stopped reporting progress, so it was abandoned and a new one started."
            active.finished_at = now
            for name in model.CLEARED_ON_ABANDON:
                setattr(active, name, None)
            active.save(update_fields=["status", "error", "finished_at", *model.CLEARED_ON_ABANDON])
        try:
            with transaction.atomic():
                if draft is not None:
                    for name, value in {"status": model.Status.QUEUED, "heartbeat_at": now, **fields}.items():
                        setattr(draft, name, value)
                    draft.save()
                    run = draft
                else:
                    run = model.unscoped.create(rooftop=rooftop, created_at=now, heartbeat_at=now, **fields)
        except IntegrityError:
            # Another start committed its run between our look and our insert (the partial unique index).
            return RunStart(run=model.unscoped.get(rooftop=rooftop, status__in=model.ACTIVE), started=False)
    return RunStart(run=run, started=True)


@contextmanager
def run_claimed(model: type[BackgroundRun], run_id: int) -> Iterator[bool]:
    """True while this worker holds the run: the broker may deliver a task twice (a visibility timeout shorter
    than a long import), and the second delivery must find the run taken and do nothing. A session advisory
    lock, so it outlives the run's per-chunk transactions and dies with a killed worker's connection."""
    kind = zlib.crc32(model._meta.label.encode()) - 2**31  # one lock space per kind of run
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [kind, run_id])
        claimed = cursor.fetchone()[0]
    try:
        yield claimed
    finally:
        if claimed:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [kind, run_id])
