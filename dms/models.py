"""A store's imports from its dealer management system (DMS): the saved column mapping and each import run."""

from django.db import models
from django.utils import timezone

from rooftops.models import Rooftop
from rooftops.runs import BackgroundRun
from rooftops.tenancy import TenantModel


class Kind(models.TextChoices):
    CUSTOMERS = "customers", "Customers"
    SALES = "sales", "Vehicle sales"
    REPAIR_ORDERS = "repair_orders", "Service repair orders"
    APPOINTMENTS = "appointments", "Service appointments"


class DmsMapping(TenantModel):
    """How this store's DMS names its columns, per kind of export: saved when an import starts, offered next time."""

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="dms_mappings")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    preset = models.CharField(max_length=40, blank=True)  # the layout it started from (dms.presets)
    columns = models.JSONField(default=dict)  # our field -> the DMS's column header
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["rooftop", "kind"], name="dms_mapping_once_per_kind")]


class DmsImport(BackgroundRun):
    """One file from the DMS: uploaded (a draft the manager previews), then loaded by a worker in chunks.

    Each chunk commits its rows, its refused rows and `line_done` together, so a worker that dies mid-file
    leaves the import exactly after its last whole chunk and the next delivery resumes there.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Waiting for the mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    CLEARED_ON_ABANDON = ("file",)

    class Source(models.TextChoices):
        BROWSER = "browser", "Uploaded in the browser"
        COMMAND = "command", "manage.py dms_import"
        API = "api", "The staff API"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="dms_imports")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.BROWSER)
    # The uploaded file, until the import ends (then deleted: it is a copy of customer data we no longer need).
    file = models.FileField(upload_to="dms/%Y/%m/", null=True, blank=True, max_length=300)
    file_name = models.CharField(max_length=200)  # as the manager's computer named it
    file_bytes = models.BigIntegerField(default=0)
    preset = models.CharField(max_length=40, blank=True)
    columns = models.JSONField(default=dict)  # the mapping this import reads with (our field -> header)
    total_rows = models.PositiveIntegerField(null=True, blank=True)  # counted by the worker before loading
    line_done = models.PositiveIntegerField(default=0)  # the file's last line whose chunk is committed
    rows_done = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)

    class Meta(BackgroundRun.Meta):
        constraints = [
            # One import at a time per store: a sales file must not race the customer file it depends on.
            models.UniqueConstraint(fields=["rooftop"], condition=models.Q(status__in=["queued", "running"]),
                                    name="dms_import_one_active_per_rooftop"),
        ]
        indexes = [models.Index(fields=["rooftop", "-created_at"], name="dms_import_latest")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.file_name}"

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.rows_done / self.total_rows)) if self.total_rows else 0


class DmsImportError(models.Model):
    """A row the import refused: its line in the file, its key and why (the manager's downloadable error file)."""

    dms_import = models.ForeignKey(DmsImport, on_delete=models.CASCADE, related_name="errors")
    line = models.PositiveIntegerField()
    key = models.CharField(max_length=60, blank=True)  # deal, RO, appointment or customer number, if readable
    reason = models.CharField(max_length=500)

    class Meta:
        indexes = [models.Index(fields=["dms_import", "line"])]
