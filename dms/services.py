"""Writes for the DMS import: take a file, preview it under a mapping, start, cancel, and the worker's load.

`dms.files` reads the file as a stream, `dms.presets` maps its columns, `dms.records` turns a row into a
record or a row error (all pure); `dms.writer` writes a chunk. This module holds the run: each chunk of
`DMS_IMPORT_CHUNK_ROWS` rows commits its records, its refused rows, its counts and the file line it reached
in one transaction, so a worker killed mid-file leaves the import after a whole chunk and the next delivery
(or the beat's resume) goes on from that line: nothing is applied twice and no row is half-applied.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from crm.bulk import copy_insert
from dms.files import FileRefused, Table, open_table
from dms.models import DmsImport, DmsImportError, DmsMapping
from dms.presets import FIELDS, PRESETS, ResolvedMapping, mapping_guess, mapping_resolve
from dms.records import RowError, record_read
from dms.writer import chunk_apply
from rooftops.models import Rooftop
from rooftops.runs import RunStart, run_claimed, run_start

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 10
# A running import whose worker has not reported for this long is handed to a worker again (it resumes).
RESUME_AFTER = timedelta(minutes=2)


class ImportRefused(Exception):
    """The manager is told `reason`; nothing was written."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- taking a file ---------------------------------------------------------------------------------------

def dms_upload(*, rooftop: Rooftop, kind: str, upload: File, file_name: str, user: User | None,
               source: str = DmsImport.Source.BROWSER) -> DmsImport:
    """Keep the file as a draft import under the store's saved mapping (or the preset that fits its header best).
    A file that is not a readable CSV or XLSX is refused here, before anything is kept."""
    if kind not in FIELDS:
        raise ImportRefused(f"Choose what the file holds: {', '.join(FIELDS)}.")
    size = getattr(upload, "size", None) or 0
    if size > settings.DMS_IMPORT_MAX_BYTES:
        raise ImportRefused(f"{file_name} is {size:,} bytes; the limit is {settings.DMS_IMPORT_MAX_BYTES:,} bytes. "
                            "Export a shorter date range and import the files one after another.")
    dms_import = DmsImport(rooftop=rooftop, kind=kind, file_name=file_name[:200], file_bytes=size, created_by=user,
                           source=source)
    dms_import.file.save(os.path.basename(file_name) or "dms-export", upload, save=False)
    try:
        table = open_table(dms_import.file.path, name=file_name, max_bytes=settings.DMS_IMPORT_MAX_BYTES)
    except FileRefused as exc:
        dms_import.file.delete(save=False)
        raise ImportRefused(exc.reason) from None
    saved = DmsMapping.unscoped.filter(rooftop=rooftop, kind=kind).first()
    if saved is not None and mapping_resolve(table.headers, saved.columns, kind=kind).ok:
        dms_import.preset, dms_import.columns = saved.preset, dict(saved.columns)
    else:
        preset, _ = mapping_guess(table.headers, kind=kind)
        dms_import.preset, dms_import.columns = preset, dict(PRESETS[preset].get(kind, {}))
    dms_import.save()
    return dms_import


@dataclass(frozen=True)
class Preview:
    headers: list[str]
    resolved: ResolvedMapping
    rows: list  # the first records or RowErrors, as the import will read them


def dms_preview(*, dms_import: DmsImport, columns: dict[str, str] | None = None) -> Preview:
    """The first rows of the file under a mapping, read exactly as the worker will; nothing is written."""
    table = _table(dms_import)
    resolved = mapping_resolve(table.headers, columns if columns is not None else dms_import.columns,
                               kind=dms_import.kind)
    rows = []
    if resolved.ok:
        source = table.rows()
        try:
            for line, values in source:
                rows.append(record_read(dms_import.kind, line, values, resolved))
                if len(rows) >= PREVIEW_ROWS:
                    break
        finally:
            source.close()
    return Preview(headers=table.headers, resolved=resolved, rows=rows)


def _table(dms_import: DmsImport) -> Table:
    if not dms_import.file:
        raise ImportRefused("The file of this import is no longer kept; upload it again.")
    try:
        return open_table(dms_import.file.path, name=dms_import.file_name, max_bytes=settings.DMS_IMPORT_MAX_BYTES)
    except FileRefused as exc:
        raise ImportRefused(exc.reason) from None


# --- starting and cancelling -----------------------------------------------------------------------------

def dms_import_start(*, dms_import: DmsImport, columns: dict[str, str], preset: str = "",
                     user: User | None = None, queue: bool = True) -> RunStart:
    """Start loading a draft under `columns` (kept as the store's mapping for this kind of file). One import runs
    at a time per store: while another runs, that one is handed back (`started` False) and this stays a draft."""
    from dms.tasks import dms_import_run

    if dms_import.status != DmsImport.Status.DRAFT:
        raise ImportRefused("This import has already been started.")
    table = _table(dms_import)
    resolved = mapping_resolve(table.headers, columns, kind=dms_import.kind)
    if not resolved.ok:
        raise ImportRefused(f"Map a column of the file to: {', '.join(resolved.missing)}.")
    kept = {name: header for name, header in columns.items() if name in resolved.columns}
    with transaction.atomic():
        start = run_start(DmsImport, rooftop=dms_import.rooftop, draft=dms_import, columns=kept,
                          preset=(preset or dms_import.preset)[:40])
        if start.started:
            DmsMapping.unscoped.update_or_create(
                rooftop=dms_import.rooftop, kind=dms_import.kind,
                defaults={"columns": kept, "preset": (preset or dms_import.preset)[:40], "updated_at": timezone.now()})
            if queue:
                import_id = dms_import.id
                transaction.on_commit(lambda: dms_import_run.delay(import_id))
    return start


def dms_import_cancel(*, dms_import: DmsImport) -> DmsImport:
    """A draft or a queued import ends at once; a running one stops after its current chunk (what was loaded
    stays loaded: every row of it is whole)."""
    with transaction.atomic():
        row = DmsImport.unscoped.select_for_update().get(pk=dms_import.pk)
        if row.status in (DmsImport.Status.DRAFT, DmsImport.Status.QUEUED):
            _end(row, DmsImport.Status.CANCELLED)
        elif row.status == DmsImport.Status.RUNNING:
            row.cancel_requested = True
            row.save(update_fields=["cancel_requested"])
    return row


def _end(row: DmsImport, status: str, error: str = "") -> None:
    row.status, row.error, row.finished_at = status, error, timezone.now()
    if row.file:
        row.file.delete(save=False)  # a copy of customer data we no longer need
    row.file = None
    row.save(update_fields=["status", "error", "finished_at", "file"])
    _finished_emit(row)
    if status == DmsImport.Status.DONE and row.kind in ("sales", "repair_orders"):
        from service.tasks import opportunities_scan_store

        rooftop_id = row.rooftop_id  # new deals and odometer readings: the store's trade opportunities now
        transaction.on_commit(lambda: opportunities_scan_store.delay(rooftop_id))


def _finished_emit(row: DmsImport) -> None:
    """`import.finished` to the store's webhook endpoints, in the transaction that ends the import (the outbox
    row commits with the status it reports), done, failed or cancelled alike."""
    from django.urls import reverse

    from rooftops.webhooks import site_link, webhooks_emit

    logger.info("DMS import %s ended: %s", row.id, row.status)
    webhooks_emit(row.rooftop_id, "import.finished", lambda: {"import": {
        "kind": "dms", "dms_kind": row.kind, "run_id": row.pk, "status": row.status, "source": row.source,
        "file_name": row.file_name,
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "counts": {"rows": row.rows_done, "added": row.added, "updated": row.updated, "unchanged": row.unchanged,
                   "refused": row.failed},
        "error": row.error[:300], "url": site_link(reverse("dms-import", args=[row.pk])),
    }}, object_key=f"dms_import:{row.pk}")


# --- the worker's load -----------------------------------------------------------------------------------

def dms_import_execute(*, import_id: int, chunk_rows: int | None = None) -> DmsImport | None:
    with run_claimed(DmsImport, import_id) as claimed:
        # Not claimed: a second delivery of an import another worker is still loading.
        return _execute(import_id=import_id, chunk_rows=chunk_rows or settings.DMS_IMPORT_CHUNK_ROWS) if claimed else None


def _execute(*, import_id: int, chunk_rows: int) -> DmsImport | None:
    run = DmsImport.unscoped.select_related("rooftop").filter(id=import_id).first()
    if run is None or not run.active:
        return run  # finished, cancelled or abandoned meanwhile
    mine = DmsImport.unscoped.filter(id=import_id, status__in=DmsImport.ACTIVE)
    now = timezone.now()
    mine.update(status=DmsImport.Status.RUNNING, started_at=run.started_at or now, heartbeat_at=now)
    try:
        table = _table(run)
        resolved = mapping_resolve(table.headers, run.columns, kind=run.kind)
        if not resolved.ok:
            raise ImportRefused(f"The file has no column for: {', '.join(resolved.missing)}.")
        if run.total_rows is None:
            total = sum(1 for _ in table.rows())  # a streaming pass: the progress bar needs the end
            mine.update(total_rows=total, heartbeat_at=timezone.now())
        batch: list = []
        today = timezone.now().astimezone(ZoneInfo(run.rooftop.time_zone)).date()
        analyzed_at = max(run.rows_done, chunk_rows) // 2
        for line, values in table.rows(after_line=run.line_done):
            batch.append(record_read(run.kind, line, values, resolved, today=today))
            if len(batch) >= chunk_rows:
                if not _chunk_commit(run, mine, batch, last_line=line):
                    return _stopped(import_id)
                batch = []
                done = mine.values_list("rows_done", flat=True).first() or 0
                if done >= 2 * analyzed_at:
                    _analyze_grown_tables()
                    analyzed_at = done
        if batch and not _chunk_commit(run, mine, batch, last_line=batch[-1].line):
            return _stopped(import_id)
    except (FileRefused, ImportRefused) as exc:
        with transaction.atomic():
            row = DmsImport.unscoped.select_for_update().get(id=import_id)
            if row.active:
                _end(row, DmsImport.Status.FAILED, f"{exc.reason} Rows before it that were loaded stay loaded.")
        return DmsImport.unscoped.get(id=import_id)
    with transaction.atomic():
        row = DmsImport.unscoped.select_for_update().get(id=import_id)
        if row.active:
            _end(row, DmsImport.Status.DONE)
    return DmsImport.unscoped.get(id=import_id)


# What an import grows. A store's first import multiplies these tables many times over within minutes, faster
# than autovacuum refreshes the planner's statistics: on stale ones (a "tiny" table) the matcher's and the
# duplicate check's joins turned into nested scans of the whole table. Analyzed after the first chunk and each
# time the import's rows double: a handful of times per file, a fraction of a second each.
GROWN_TABLES = ("customers_customer", "customers_customerrooftop", "customers_customeremail",
                "customers_customerphone", "customers_ownedvehicle", "customers_vehiclesale", "service_repairorder",
                "customers_appointment", "customers_timelineentry")


def _analyze_grown_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(GROWN_TABLES)}")


def _chunk_commit(run: DmsImport, mine, batch: list, *, last_line: int) -> bool:
    """Write one chunk with its counts and position; False when the import was cancelled or taken away."""
    records = [r for r in batch if not isinstance(r, RowError)]
    errors = [DmsImportError(dms_import_id=run.id, line=e.line, key=(e.key or "")[:60], reason=e.reason[:500])
              for e in batch if isinstance(e, RowError)]
    now = timezone.now()
    with transaction.atomic():
        state = DmsImport.unscoped.select_for_update().filter(id=run.id).values("status", "cancel_requested").first()
        if state is None or state["status"] != DmsImport.Status.RUNNING:
            return False
        if state["cancel_requested"]:
            row = DmsImport.unscoped.get(id=run.id)
            _end(row, DmsImport.Status.CANCELLED)
            return False
        result = _apply(run, records, now)
        errors += [DmsImportError(dms_import_id=run.id, line=line, key=key[:60], reason=reason[:500])
                   for line, key, reason in result.refused]
        copy_insert(DmsImportError, errors)
        mine.update(line_done=last_line, rows_done=F("rows_done") + len(batch), added=F("added") + result.added,
                    updated=F("updated") + result.updated, unchanged=F("unchanged") + result.unchanged,
                    failed=F("failed") + len(errors), heartbeat_at=now)
    return True


def _apply(run: DmsImport, records: list, now: datetime):
    """The chunk at once; if the database refuses it (a value no reading rule caught), row by row, so only the
    rows it refuses are reported and the rest still load."""
    from django.db import DatabaseError

    try:
        with transaction.atomic():
            return chunk_apply(rooftop=run.rooftop, kind=run.kind, records=records, at=now)
    except DatabaseError as exc:
        logger.warning("DMS import %s: a chunk was refused by the database (%s); loading it row by row", run.id,
                       str(exc).splitlines()[0][:300])
    from dms.writer import ChunkResult

    total = ChunkResult()
    for record in records:
        try:
            with transaction.atomic():
                one = chunk_apply(rooftop=run.rooftop, kind=run.kind, records=[record], at=now)
        except DatabaseError as exc:
            total.refused.append((record.line, _key(record), f"The database refused this row ({type(exc).__name__})."))
            continue
        total.added += one.added
        total.updated += one.updated
        total.unchanged += one.unchanged
    return total


def _key(record) -> str:
    for name in ("deal_number", "ro_number", "appointment_number"):
        if getattr(record, name, ""):
            return getattr(record, name)
    return record.customer.dms_number


def _stopped(import_id: int) -> DmsImport:
    return DmsImport.unscoped.get(id=import_id)


def dms_imports_resume(*, now: datetime | None = None) -> int:
    """Beat: an import whose worker went silent (killed, restarted) is handed to a worker again; it resumes
    after its last committed chunk. The task's claim makes a delivery to a still-living worker a no-op."""
    from dms.tasks import dms_import_run

    now = now or timezone.now()
    stale = list(DmsImport.unscoped.filter(status__in=DmsImport.ACTIVE, heartbeat_at__lt=now - RESUME_AFTER)
                 .values_list("id", flat=True))
    for import_id in stale:
        dms_import_run.delay(import_id)
    return len(stale)


DRAFT_KEPT = timedelta(days=1)


def dms_drafts_expire(*, now: datetime | None = None) -> int:
    """Beat: a file uploaded and never started is deleted after a day (it is a copy of customer data)."""
    now = now or timezone.now()
    expired = 0
    for row in DmsImport.unscoped.filter(status=DmsImport.Status.DRAFT, created_at__lt=now - DRAFT_KEPT):
        with transaction.atomic():
            row.error = "Not started within a day of the upload; the file was deleted."
            _end(row, DmsImport.Status.CANCELLED, row.error)
        expired += 1
    return expired
