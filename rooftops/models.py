import hashlib
import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from crm.encrypted_fields import EncryptedTextField
from rooftops.tenancy import RooftopScopedManager, TenantModel


class DealerGroup(models.Model):
    """Several rooftops under one owner; customers and consent are shared across it."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    # Set by a manager: then nobody in the group reaches customer data (pages, API tokens, websockets) without
    # a verified second factor (rooftops.middleware.SecondFactorMiddleware, rooftops.authentication, crm.ws_auth).
    require_second_factor = models.BooleanField(default=False)
    require_second_factor_changed_at = models.DateTimeField(null=True, blank=True)
    require_second_factor_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return self.name


def _new_key() -> str:
    return secrets.token_urlsafe(24)


class Rooftop(models.Model):
    """One store. Its time zone decides business hours, quiet hours and how times are shown."""

    dealer_group = models.ForeignKey(DealerGroup, on_delete=models.PROTECT, related_name="rooftops")
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    time_zone = models.CharField(max_length=64, default="America/New_York")
    # {"mon": [["09:00", "20:00"]], ..., "closed_dates": ["2026-12-25"]}; read by leads.routing.BusinessHours
    business_hours = models.JSONField(default=dict, blank=True)
    # The service department's own hours, in the same form, where they differ from the showroom's (service opens
    # earlier and closes Saturday afternoon at most stores); empty: the same as business_hours. The store's closed
    # dates apply to both.
    service_hours = models.JSONField(default=dict, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    address = models.CharField(max_length=300, blank=True)
    website_url = models.URLField(blank=True)
    # Public: pasted into the dealer's website; identifies the rooftop to the collector.
    tracking_write_key = models.CharField(max_length=64, unique=True, default=_new_key)
    # Secret-ish: part of the ADF intake URL given to lead providers.
    lead_intake_token = models.CharField(max_length=64, unique=True, default=_new_key)
    # Quiet hours are the TCPA's rule for texts; email goes at any hour unless the store chooses to hold it too.
    hold_email_in_quiet_hours = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    class Kind(models.TextChoices):
        SALES = "sales", "Sales"
        BDC = "bdc", "BDC"
        FINANCE = "finance", "Finance"
        SERVICE = "service", "Service"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="departments")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100)
    phone = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rooftop", "kind"], name="one_department_kind_per_rooftop")]

    def __str__(self) -> str:
        return f"{self.rooftop} {self.name}"


class Role(models.TextChoices):
    SALESPERSON = "salesperson", "Salesperson"
    BDC_AGENT = "bdc_agent", "BDC agent"
    SERVICE_ADVISOR = "service_advisor", "Service advisor"
    MANAGER = "manager", "Manager"


class StaffRole(models.Model):
    """A person holds roles per rooftop; a role at one store grants nothing at another."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_roles")
    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="staff_roles")
    role = models.CharField(max_length=32, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "rooftop", "role"], name="unique_staff_role")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} at {self.rooftop}"


class Availability(models.TextChoices):
    AVAILABLE = "available", "Available"
    WITH_CUSTOMER = "with_customer", "With a customer"
    LUNCH = "lunch", "At lunch"
    OFF = "off", "Off"


class StaffProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    dealer_group = models.ForeignKey(DealerGroup, on_delete=models.PROTECT, related_name="staff")
    display_name = models.CharField(max_length=120)
    phone = models.CharField(max_length=20, blank=True)
    availability = models.CharField(max_length=20, choices=Availability.choices, default=Availability.AVAILABLE)
    availability_changed_at = models.DateTimeField(default=timezone.now)
    # Granted explicitly: a manager sees every rooftop of the group only when this is on.
    sees_whole_group = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.display_name


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    READ_WRITE = "read_write", "Read and write"


class ApiToken(models.Model):
    """A personal API token; only its hash is stored, the key is shown once. Limited in scope and lifetime."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="API token")
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    # Tokens made before scopes existed keep the access they had.
    scope = models.CharField(max_length=16, choices=TokenScope.choices, default=TokenScope.READ_WRITE)
    expires_at = models.DateTimeField(null=True, blank=True)  # null: never (only from the command line)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AccessRecord(models.Model):
    """One read or export of customer data: who, what, when, from where, how many rows. Append-only.

    The database refuses UPDATE, DELETE and TRUNCATE of this table (migration 0002's triggers), so the
    application cannot rewrite what it recorded. The user and rooftop are plain ids without a foreign key
    constraint: deleting a user or a store must not need to delete, or be blocked by, the record of their reads.
    """

    class Kind(models.TextChoices):
        CUSTOMER_PAGE = "customer_page", "Customer page"
        CUSTOMER_SEARCH = "customer_search", "Customer search"
        CUSTOMER_API = "customer_api", "Customer API"
        EVENTS_API = "events_api", "Website events API"
        LEAD_ADF_EXPORT = "lead_adf_export", "Lead ADF export"
        KPI_CSV = "kpi_csv", "Dashboard CSV"
        LEADS_CSV = "leads_csv", "Leads CSV"
        ACCESS_LOG_CSV = "access_log_csv", "Access log CSV"
        LEADS_LIST = "leads_list", "Leads list"
        LEAD_PAGE = "lead_page", "Lead page"
        MY_DAY = "my_day", "My day"
        ALERT_FEED = "alert_feed", "Alert feed"
        ALERTS_API = "alerts_api", "Alerts API"
        SERVICE_LANE = "service_lane", "Service lane"
        LEADS_API = "leads_api", "Leads API"
        APPOINTMENTS_API = "appointments_api", "Appointments API"
        SERVICE_API = "service_api", "Service API"
        # A masked sensitive value (date of birth, licence, loan account) shown in full on purpose.
        SENSITIVE_REVEAL = "sensitive_reveal", "Sensitive field revealed"
        DMS_IMPORT_ERRORS = "dms_import_errors", "DMS import refused rows"
        EQUITY_MINING = "equity_mining", "Equity mining list"
        EQUITY_MINING_CSV = "equity_mining_csv", "Equity mining CSV"

    # The store whose data was read; a read spanning several stores is one record at each.
    rooftop = models.ForeignKey(Rooftop, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                             null=True, related_name="+")
    username = models.CharField(max_length=150)  # as it was then: the user may be renamed or deleted later
    at = models.DateTimeField(default=timezone.now)
    client_address = models.CharField(max_length=64)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    path = models.CharField(max_length=300)
    query = models.CharField(max_length=2000, blank=True)
    object_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    rows = models.PositiveIntegerField(default=0)

    objects = RooftopScopedManager()
    unscoped = models.Manager()

    class Meta:
        base_manager_name = "unscoped"
        default_manager_name = "unscoped"
        indexes = [
            models.Index(fields=["rooftop", "at"], name="access_record_rooftop_at"),
            models.Index(fields=["rooftop", "user", "at"], name="access_record_user_at"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.kind} at {self.at:%Y-%m-%d %H:%M}"


class IdempotencyKey(models.Model):
    """One API POST made with an `Idempotency-Key` header, and what it answered (crm.idempotency).

    The key belongs to its caller: the user and the token (none for a browser session), the method and the path.
    A retry finds this row and is answered from it; nothing is written twice. Kept 24 hours.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    key = models.CharField(max_length=255)
    body_sha256 = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # null while the first request runs
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "token", "method", "path", "key"], nulls_distinct=False,
                                    name="idempotency_key_once_per_caller"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]


# --------------------------------------------------------------------------- outbound webhooks (rooftops.webhooks)


class WebhookEvent(models.TextChoices):
    LEAD_CREATED = "lead.created", "A lead came in"
    LEAD_ASSIGNED = "lead.assigned", "A lead was assigned (routing, reroute or by hand)"
    LEAD_STATUS_CHANGED = "lead.status_changed", "A lead's status changed"
    ALERT_RAISED = "alert.raised", "An intent alert was raised"
    APPOINTMENT_CREATED = "appointment.created", "An appointment was set"
    APPOINTMENT_UPDATED = "appointment.updated", "An appointment was moved, changed or marked"
    CUSTOMER_MERGED = "customer.merged", "Two customer records were merged"
    MESSAGE_RECEIVED = "message.received", "A customer texted in"
    IMPORT_FINISHED = "import.finished", "An import (inventory feed, DMS) finished"


class WebhookEndpoint(TenantModel):
    """An HTTPS address a store's manager registered to be told about events; the store's own setting."""

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=1000)
    events = ArrayField(models.CharField(max_length=40, choices=WebhookEvent.choices))
    description = models.CharField(max_length=200, blank=True)
    # The signing secret, encrypted at rest; shown to the manager once, when made or rotated.
    secret = EncryptedTextField()
    active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Since when every delivery has failed (cleared by one success); 24 hours of it disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [
            # webhooks_emit's one query: a store's active endpoints (most stores have none).
            models.Index(fields=["rooftop"], condition=models.Q(active=True), name="webhook_endpoint_active"),
        ]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TenantModel):
    """One event for one endpoint: an outbox row (crm.outbox) written with the change, sent at least once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (retries used up)"

    ROOFTOP_LOOKUP = "endpoint__rooftop_id"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    # What the event is about ("lead:42"): deliveries for one object reach an endpoint in the order they happened.
    object_key = models.CharField(max_length=80)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    redelivery_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"), name="webhook_delivery_due"),
            models.Index(fields=["claimed_at"], condition=models.Q(status="sending"), name="webhook_delivery_in_flight"),
            # The ordering rule: is an earlier delivery for this endpoint and object still unfinished?
            models.Index(fields=["endpoint", "object_key", "id"], condition=models.Q(status__in=["pending", "sending"]),
                         name="webhook_delivery_unfinished"),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_log"),
            models.Index(fields=["delivered_at"], condition=models.Q(status="delivered"), name="webhook_delivery_done"),
        ]
