"""The manager's DMS import pages: upload a file, check its columns on a preview, start, watch, cancel, and the
summary with the refused rows to download.

Managers only; anyone else gets the 404 of a page that does not exist, and another store's import is the same
404 as a missing one. The load runs on a Celery worker (dms.services); its row is polled by htmx every 2 s.
"""

from __future__ import annotations

import csv
import io

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from crm.csvread import csv_safe
from crm.input_guard import CONTROL_CHARACTERS
from crm.pagination import paginate
from dms import selectors, services
from dms.models import DmsImport, Kind
from dms.presets import FIELDS, PRESETS
from dms.records import RowError
from rooftops.audit import access_record
from rooftops.models import AccessRecord
from rooftops.selectors import managed_rooftop, staff_access

UNPROCESSABLE = 422
TOO_LARGE = 413
IMPORTS_PER_PAGE = 20


@login_required
def dms_imports_page(request: HttpRequest) -> HttpResponse:
    rooftop, rooftops = managed_rooftop(request.user, request.POST.get("rooftop") or request.GET.get("rooftop"))
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        kind = request.POST.get("kind", "")
        if upload is None:
            errors["upload"] = "Choose the file your DMS exported (CSV or Excel .xlsx)."
        elif kind not in Kind.values:
            errors["upload"] = "Choose what the file holds."
        elif upload.size > settings.DMS_IMPORT_MAX_BYTES:
            errors["upload"] = (f"The file is {upload.size:,} bytes; the limit is {settings.DMS_IMPORT_MAX_BYTES:,} "
                                "bytes. Export a shorter date range and import the files one after another.")
            status = TOO_LARGE
        else:
            name = CONTROL_CHARACTERS.sub("", upload.name or "dms-export.csv")[:200]
            try:
                dms_import = services.dms_upload(rooftop=rooftop, kind=kind, upload=upload, file_name=name,
                                                 user=request.user)
            except services.ImportRefused as exc:
                errors["upload"] = f"{name} was not taken: {exc.reason}"
            else:
                return redirect("dms-import", import_id=dms_import.id)
        status = status if status != 200 else UNPROCESSABLE
    imports = selectors.dms_imports(access=staff_access(request.user), rooftop_id=rooftop.id)
    page = paginate(imports, per_page=IMPORTS_PER_PAGE, raw_page=request.GET.get("page"))
    return render(request, "dms/imports.html", {
        "rooftop": rooftop, "rooftops": rooftops, "errors": errors, "page": page, "kinds": Kind.choices,
        "max_mb": settings.DMS_IMPORT_MAX_BYTES // (1024 * 1024), "kind_value": request.POST.get("kind", ""),
        "latest": imports.first(),
    }, status=status)


@login_required
def dms_import_page(request: HttpRequest, import_id: int) -> HttpResponse:
    """A draft's preview and mapping (start from here); a running or finished import's progress and summary."""
    dms_import = selectors.access_dms_import(access=staff_access(request.user), import_id=import_id)
    here = reverse("dms-import", args=[dms_import.id])
    errors: dict[str, str] = {}
    status = 200
    columns = dict(dms_import.columns)
    preset = dms_import.preset
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "cancel":
            services.dms_import_cancel(dms_import=dms_import)
            messages.info(request, "Cancelled. Rows already loaded stay loaded." if dms_import.status == "running"
                          else "Cancelled; the file was deleted.")
            return redirect(here)
        if dms_import.status != DmsImport.Status.DRAFT:
            errors["mapping"] = "This import has already been started."
        else:
            preset = request.POST.get("preset", "")
            if action == "preset" and preset in PRESETS:
                columns = dict(PRESETS[preset].get(dms_import.kind, {}))
            else:
                columns = {f.name: request.POST.get(f"col_{f.name}", "").strip()[:100]
                           for f in FIELDS[dms_import.kind] if request.POST.get(f"col_{f.name}", "").strip()}
            if action == "start":
                try:
                    start = services.dms_import_start(dms_import=dms_import, columns=columns, preset=preset,
                                                      user=request.user)
                except services.ImportRefused as exc:
                    errors["mapping"] = exc.reason
                else:
                    if not start.started:
                        errors["mapping"] = ("Another import is running at this store: wait for it to finish, then "
                                             "start this one (its file is kept for a day).")
                    else:
                        return redirect(here)
        if errors:
            status = UNPROCESSABLE
    context = {"dms_import": dms_import, "rooftop": dms_import.rooftop, "errors": errors, **_run_context(dms_import)}
    if dms_import.status == DmsImport.Status.DRAFT:
        try:
            preview = services.dms_preview(dms_import=dms_import, columns=columns)
        except services.ImportRefused as exc:
            errors["mapping"] = exc.reason
            status = UNPROCESSABLE
        else:
            context.update(_preview_context(dms_import, preview, columns, preset))
    return render(request, "dms/import.html", context, status=status)


def _preview_context(dms_import: DmsImport, preview, columns: dict[str, str], preset: str) -> dict:
    fields = FIELDS[dms_import.kind]
    shown = [f for f in fields if f.name in preview.resolved.columns]
    rows = []
    for row in preview.rows:
        if isinstance(row, RowError):
            rows.append({"line": row.line, "error": row.reason})
        else:
            rows.append({"line": row.line, "cells": _cells(row, shown), "warnings": getattr(row, "warnings", ())})
    return {
        "preview": preview, "fields": [(f, preview.resolved.headers.get(f.name, "")) for f in fields], "shown": shown,
        "preview_rows": rows, "presets": list(PRESETS), "preset": preset,
    }


def _cells(record, fields) -> list[str]:
    """What each mapped field was read as, for the preview table (the customer's fields live on record.customer)."""
    cells = []
    for f in fields:
        value = getattr(record, f.name, None)
        if value is None and hasattr(record, "customer"):
            value = getattr(record.customer, {"customer_number": "dms_number"}.get(f.name, f.name), None)
        cells.append("" if value is None else str(value))
    return cells


def _run_context(dms_import: DmsImport) -> dict:
    stale = dms_import.is_stale(now=timezone.now())
    return {"run": dms_import, "run_stale": stale, "polling": dms_import.active and not stale}


@login_required
@require_GET
def dms_import_progress(request: HttpRequest, import_id: int) -> HttpResponse:
    """The progress partial htmx polls while the import runs (the finished markup has no trigger: polling stops)."""
    dms_import = selectors.access_dms_import(access=staff_access(request.user), import_id=import_id)
    return render(request, "dms/_import_run.html", {"rooftop": dms_import.rooftop, **_run_context(dms_import)})


@login_required
@require_GET
def dms_import_errors(request: HttpRequest, import_id: int) -> HttpResponse:
    """The refused rows with their line and reason, as CSV. Reasons may quote a customer's value: recorded."""
    dms_import = selectors.access_dms_import(access=staff_access(request.user), import_id=import_id)
    rows = dms_import.errors.order_by("line").values_list("line", "key", "reason")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "key", "reason"])
    count = 0
    for line, key, reason in rows.iterator():
        writer.writerow([line, csv_safe(key), csv_safe(reason)])
        count += 1
    access_record(request, kind=AccessRecord.Kind.DMS_IMPORT_ERRORS, rooftop_ids=[dms_import.rooftop_id], rows=count)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dms-import-{dms_import.id}-refused-rows.csv"'
    return response
