"""Import a DMS export into a rooftop, now, in this process (or queued for a worker with --queue).

    manage.py dms_import --rooftop lakeside-toyota --kind sales /srv/exports/deals-2026.csv
    manage.py dms_import --rooftop lakeside-toyota --kind repair_orders --preset "CDK Drive" ros.xlsx
    manage.py dms_import --rooftop lakeside-toyota --kind customers --columns "customer_number: Cust #" c.csv

The same import as the manager's page (dms.services), recorded as an import the page shows. Without --preset or
--columns, the store's saved mapping for this kind of file is used, else the layout that fits the header best.
Exit status 1 when the file was refused or the import failed; refused rows are printed with their lines.
"""

from __future__ import annotations

from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from dms import services
from dms.models import DmsImport, Kind
from dms.presets import PRESETS, mapping_from_text
from rooftops.models import Rooftop

SHOWN_ERRORS = 20


class Command(BaseCommand):
    help = "Import customers, vehicle sales, repair orders or appointments from a DMS export (CSV or XLSX)."

    def add_arguments(self, parser):
        parser.add_argument("--rooftop", required=True, help="the rooftop's slug")
        parser.add_argument("--kind", required=True, choices=Kind.values, help="what the file holds")
        parser.add_argument("--preset", choices=list(PRESETS), help="the export layout")
        parser.add_argument("--columns", help='the store\'s own column names, "field: Header" lines ("\\n" between)')
        parser.add_argument("--queue", action="store_true", help="hand it to a Celery worker instead of waiting")
        parser.add_argument("file", help="the CSV or XLSX file")

    def handle(self, *args, rooftop: str, kind: str, preset: str | None, columns: str | None, queue: bool,
               file: str, **options):
        store = Rooftop.objects.filter(slug=rooftop).first()
        if store is None:
            raise CommandError(f"No rooftop with the slug {rooftop!r}.")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file} is not a file.")
        try:
            with path.open("rb") as handle:
                upload = File(handle, name=path.name)
                upload.size = path.stat().st_size
                dms_import = services.dms_upload(rooftop=store, kind=kind, upload=upload, file_name=path.name,
                                                 user=None, source=DmsImport.Source.COMMAND)
            mapping = dict(dms_import.columns)
            if preset:
                mapping = dict(PRESETS[preset].get(kind, {}))
            if columns:
                mapping.update(mapping_from_text(columns.replace("\\n", "\n"), kind=kind))
            start = services.dms_import_start(dms_import=dms_import, columns=mapping, preset=preset or "",
                                              queue=queue)
        except services.ImportRefused as exc:
            raise CommandError(f"Refused: {exc.reason}") from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not start.started:
            services.dms_import_cancel(dms_import=dms_import)
            raise CommandError(f"An import is already running at {store.name} (import {start.run.id}); try later.")
        if queue:
            self.stdout.write(f"Queued as import {dms_import.id}; its page shows the progress.")
            return
        run = services.dms_import_execute(import_id=dms_import.id)
        if run is None:
            raise CommandError("Another process is on this import.")
        for error in run.errors.order_by("line")[:SHOWN_ERRORS]:
            self.stderr.write(f"line {error.line}: {error.reason}")
        if run.failed > SHOWN_ERRORS:
            self.stderr.write(f"… and {run.failed - SHOWN_ERRORS} more refused rows (download them from the page).")
        summary = (f"{path.name}: {run.rows_done} rows: {run.added} added, {run.updated} updated, "
                   f"{run.unchanged} unchanged, {run.failed} refused.")
        if run.status != DmsImport.Status.DONE:
            raise CommandError(f"{summary} Stopped: {run.error or run.get_status_display()}")
        self.stdout.write(summary)
