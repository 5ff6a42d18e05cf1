from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Concat, Lower
from django.utils import timezone

from crm.encrypted_fields import EncryptedDateField, EncryptedIntegerField, EncryptedTextField, readable
from crm.times import SenderDateTimeField
from customers.search import NAME_WORD_SEPARATORS
from rooftops.models import DealerGroup, Rooftop
from rooftops.tenancy import RooftopQuerySet, RooftopScopedManager, TenantModel


class CustomerQuerySet(RooftopQuerySet):
    def scope_filter(self, rooftop_ids):
        # A customer is shared by the dealer group, but a store sees only customers it knows.
        return models.Q(
            models.Exists(
                CustomerRooftop.objects.filter(customer_id=models.OuterRef("pk"), rooftop_id__in=list(rooftop_ids))
            )
        )


class Customer(TenantModel):
    """One person across sales, BDC, finance and service of a dealer group."""

    class ContactMethod(models.TextChoices):
        PHONE = "phone", "Phone call"
        TEXT = "text", "Text message"
        EMAIL = "email", "Email"

    dealer_group = models.ForeignKey(DealerGroup, on_delete=models.PROTECT, related_name="customers")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    street = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=50, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="US")
    # For quiet hours; empty means the time zone of the rooftop that contacts them.
    time_zone = models.CharField(max_length=64, blank=True)
    preferred_contact = models.CharField(max_length=10, choices=ContactMethod.choices, blank=True)
    # Identity and finance data (FTC Safeguards Rule): encrypted at rest, shown masked, revealed on purpose and
    # recorded (README "Privacy"). Not searchable: only __isnull works on these columns.
    date_of_birth = EncryptedDateField(null=True, blank=True)
    drivers_licence_number = EncryptedTextField(null=True, blank=True)
    # The issuing state alone identifies nobody; kept plain so it can be shown and filtered.
    drivers_licence_state = models.CharField(max_length=2, blank=True)
    # Opaque token put in email/text links so a click identifies the shopper on the website.
    link_token = models.CharField(max_length=32, unique=True, null=True, blank=True)
    # Set when the personal data was erased (customers.erasure); the row stays, anonymised, for KPIs.
    erased_at = models.DateTimeField(null=True, blank=True)
    # Set when merged into another record; the row stays so the merge can be undone.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Kept by PostgreSQL itself (a stored generated column), so bulk inserts, COPY and other apps' writes
    # are searchable at once; one trigram index on the whole name ranks "jon smth" next to "John Smith".
    search_name = models.GeneratedField(
        expression=Lower(Concat("first_name", models.Value(" "), "last_name")),
        output_field=models.CharField(max_length=201),
        db_persist=True,
    )

    objects = RooftopScopedManager.from_queryset(CustomerQuerySet)()

    class Meta(TenantModel.Meta):
        indexes = [
            GinIndex(fields=["last_name"], name="customer_last_trgm", opclasses=["gin_trgm_ops"]),
            GinIndex(fields=["first_name"], name="customer_first_trgm", opclasses=["gin_trgm_ops"]),
            GinIndex(fields=["search_name"], name="customer_search_name_trgm", opclasses=["gin_trgm_ops"]),
            # Prefix search for one- and two-letter queries, which trigrams cannot serve.
            models.Index(fields=["dealer_group", "search_name"], name="customer_search_name_prefix",
                         opclasses=["int8_ops", "varchar_pattern_ops"]),
            # The words of the name, for an exact word ("johnson"): a lookup that finds a common name's thousands of
            # rows without weighing every trigram-similar name (customers.selectors `_exact_words_sql`).
            GinIndex(models.Func(models.F("search_name"), models.Value(NAME_WORD_SEPARATORS),
                                 function="regexp_split_to_array",
                                 output_field=ArrayField(models.TextField())), name="customer_search_words"),
            # "Same street and postal code" for merge suggestions (customers.services.similar_at_same_address),
            # in the expressions that query compares: a lookup even for a DMS import's thousands of new customers.
            models.Index(Lower("postal_code"),
                         Lower(models.Func(models.F("street"), models.Value(r"\s+"), models.Value(" "), models.Value("g"),
                                           function="regexp_replace")), name="customer_address"),
        ]

    def __str__(self) -> str:
        return self.full_name or f"Customer {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class CustomerRooftop(models.Model):
    """Where a shared customer is known; decides which stores' staff may open the record."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="known_at")
    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    first_seen_at = models.DateTimeField(default=timezone.now)
    # The store's DMS number for this customer (customers.matching: the strongest key after our own link
    # token). Not unique: a merge leaves the merged-away record's link behind, and the matcher follows merges.
    dms_customer_number = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "rooftop"], name="customer_known_once_per_rooftop")]
        indexes = [models.Index(fields=["rooftop", "dms_customer_number"], condition=~models.Q(dms_customer_number=""),
                                name="customer_dms_number")]


class CustomerEmail(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="emails")
    email = models.EmailField()
    is_primary = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["email"]),
            # "maria.g@" while typing: prefix LIKE on a pattern index. (A trigram index on emails was measured
            # and dropped: every address shares the trigrams of its domain, so it scans most of the table.)
            models.Index(fields=["email"], name="customer_email_prefix", opclasses=["varchar_pattern_ops"]),
        ]


class CustomerPhone(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones")
    e164 = models.CharField(max_length=20)  # normalized with phonenumbers; the only form stored
    label = models.CharField(max_length=20, blank=True)  # mobile, home, work ...
    is_primary = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["e164"]),
            # Partial numbers ("last 4", "555-0142") match anywhere in the digits.
            GinIndex(fields=["e164"], name="customer_phone_trgm", opclasses=["gin_trgm_ops"]),
        ]


class ConsentRecord(models.Model):
    """Append-only: what the customer agreed to or revoked, the exact words shown, when and how."""

    class Channel(models.TextChoices):
        SMS = "sms", "Text message"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone call"

    class Purpose(models.TextChoices):
        TRANSACTIONAL = "transactional", "About their inquiry or service"
        MARKETING = "marketing", "Marketing"
        SERVICE_REMINDERS = "service_reminders", "Service reminders"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    dealer_group = models.ForeignKey(DealerGroup, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    granted = models.BooleanField()
    text_shown = models.TextField(blank=True)
    source = models.CharField(max_length=100)  # "web form", "inbound text STOP", "service write-up" ...
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        indexes = [models.Index(fields=["customer", "channel", "purpose", "-recorded_at"])]


class OwnedVehicle(models.Model):
    """A vehicle the customer owns (bought here, serviced here or traded in); equity where known."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="vehicles")
    vin = models.CharField(max_length=17, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    make = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=80, blank=True)
    trim = models.CharField(max_length=80, blank=True)
    mileage = models.PositiveIntegerField(null=True, blank=True)
    trade_value_cents = models.BigIntegerField(null=True, blank=True)
    # Loan data from the credit application or the DMS: encrypted at rest (README "Privacy"). Equity is
    # therefore computed in Python on loaded rows (service/equity.py), never in SQL.
    payoff_cents = EncryptedIntegerField(null=True, blank=True)
    payoff_on = models.DateField(null=True, blank=True)  # the day a typed-in or imported payoff was good for
    lender = EncryptedTextField(null=True, blank=True)
    finance_account_number = EncryptedTextField(null=True, blank=True)
    valued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["vin"]),
            # Service writes "last 8 of the VIN" on the RO: partial VINs match too.
            GinIndex(fields=["vin"], name="owned_vehicle_vin_trgm", opclasses=["gin_trgm_ops"]),
        ]

    @property
    def equity_cents(self) -> int | None:
        payoff = readable(self.payoff_cents)
        if self.trade_value_cents is None or payoff is None:
            return None
        return self.trade_value_cents - payoff

    def __str__(self) -> str:
        return " ".join(str(p) for p in (self.year, self.make, self.model, self.trim) if p)


class VehicleSale(TenantModel):
    """A deal from the store's DMS: what the customer bought, how it was paid for, what they traded in.

    Upserted by its deal number (dms.writer). The loan and payment figures are the customer's financial data
    (FTC Safeguards Rule) and encrypted at rest; the term, the first payment and a lease's maturity and mileage
    allowance stay plain, because "whose lease ends in the next 90 days" must be a query (README "Privacy").
    """

    class DealType(models.TextChoices):
        CASH = "cash", "Cash"
        FINANCE = "finance", "Finance"
        LEASE = "lease", "Lease"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="vehicle_sales")
    vehicle = models.ForeignKey(OwnedVehicle, null=True, blank=True, on_delete=models.SET_NULL, related_name="sales")
    deal_number = models.CharField(max_length=40)
    sold_on = models.DateField()
    vin = models.CharField(max_length=17, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    make = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=80, blank=True)
    trim = models.CharField(max_length=80, blank=True)
    mileage = models.PositiveIntegerField(null=True, blank=True)
    new_used = models.CharField(max_length=10, blank=True)
    price_cents = models.BigIntegerField(null=True, blank=True)
    deal_type = models.CharField(max_length=8, choices=DealType.choices, default=DealType.CASH)
    lender = EncryptedTextField(null=True, blank=True)
    amount_financed_cents = EncryptedIntegerField(null=True, blank=True)
    apr = EncryptedTextField(null=True, blank=True)  # "5.490": the percent as a decimal (text: encrypted)
    payment_cents = EncryptedIntegerField(null=True, blank=True)
    term_months = models.PositiveSmallIntegerField(null=True, blank=True)
    first_payment_on = models.DateField(null=True, blank=True)
    residual_cents = models.BigIntegerField(null=True, blank=True)
    maturity_on = models.DateField(null=True, blank=True)
    miles_per_year = models.PositiveIntegerField(null=True, blank=True)
    # [{"vin", "year", "make", "model", "mileage", "allowance_cents"}]; a trade-in's payoff is not kept here.
    trade_ins = models.JSONField(default=list, blank=True)
    # The import's hash of the row as read: an identical row in a later file is "unchanged", not rewritten.
    dms_fingerprint = models.CharField(max_length=32, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["rooftop", "deal_number"], name="deal_number_once_per_rooftop")]
        indexes = [
            models.Index(fields=["customer", "-sold_on"]),
            models.Index(fields=["rooftop", "maturity_on"], condition=models.Q(maturity_on__isnull=False),
                         name="vehicle_sale_lease_maturity"),
        ]

    def __str__(self) -> str:
        return f"Deal {self.deal_number}"


class Appointment(TenantModel):
    class Department(models.TextChoices):
        SALES = "sales", "Sales"
        SERVICE = "service", "Service"

    class Kind(models.TextChoices):
        TEST_DRIVE = "test_drive", "Test drive"
        SALES_VISIT = "sales_visit", "Sales visit"
        DELIVERY = "delivery", "Delivery"
        SERVICE = "service", "Service visit"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SHOWN = "shown", "Shown"
        NO_SHOW = "no_show", "No-show"
        CANCELLED = "cancelled", "Cancelled"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="appointments")
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments")
    department = models.CharField(max_length=10, choices=Department.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    scheduled_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    # The DMS's appointment number when the import brought it (dms.writer upserts by it); blank otherwise.
    dms_number = models.CharField(max_length=40, blank=True)
    dms_fingerprint = models.CharField(max_length=32, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [models.Index(fields=["rooftop", "scheduled_at"]), models.Index(fields=["customer", "-scheduled_at"])]
        constraints = [models.UniqueConstraint(fields=["rooftop", "dms_number"], condition=~models.Q(dms_number=""),
                                               name="appointment_dms_number_once_per_rooftop")]


class TimelineEntry(TenantModel):
    """The one customer story: every department writes here, the customer page reads it in time order."""

    class Department(models.TextChoices):
        SALES = "sales", "Sales"
        BDC = "bdc", "BDC"
        FINANCE = "finance", "Finance"
        SERVICE = "service", "Service"
        WEB = "web", "Website"
        SYSTEM = "system", "System"

    class Kind(models.TextChoices):
        WEB_SESSION = "web_session", "Website visit"
        LEAD = "lead", "Lead"
        LEAD_STATUS = "lead_status", "Lead status"
        CALL = "call", "Call"
        TEXT = "text", "Text"
        EMAIL = "email", "Email"
        NOTE = "note", "Note"
        APPOINTMENT = "appointment", "Appointment"
        TEST_DRIVE = "test_drive", "Test drive"
        CHAT = "chat", "Chat"
        SERVICE_VISIT = "service_visit", "Service visit"
        PURCHASE = "purchase", "Purchase"
        CONSENT = "consent", "Consent"
        ALERT = "alert", "Alert"
        ROUTING = "routing", "Routing"
        MERGE = "merge", "Merge"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="timeline")
    rooftop = models.ForeignKey(Rooftop, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    department = models.CharField(max_length=10, choices=Department.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    occurred_at = SenderDateTimeField(default=timezone.now)  # a web session starts at a shopper's clock
    summary = models.CharField(max_length=500)
    body = models.TextField(blank=True)
    direction = models.CharField(max_length=8, blank=True)  # "in" / "out" for calls, texts, emails
    detail = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="timeline")

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="timeline_customer_time"),
            models.Index(fields=["customer", "kind", "-occurred_at"], name="timeline_customer_kind"),
        ]


class DuplicateCandidateQuerySet(RooftopQuerySet):
    def scope_filter(self, rooftop_ids):
        # Offered to staff who can open both records; merging needs both anyway.
        ids = list(rooftop_ids)
        return models.Q(
            models.Exists(CustomerRooftop.objects.filter(customer_id=models.OuterRef("customer_a_id"), rooftop_id__in=ids))
        ) & models.Q(
            models.Exists(CustomerRooftop.objects.filter(customer_id=models.OuterRef("customer_b_id"), rooftop_id__in=ids))
        )


class DuplicateCandidate(TenantModel):
    """Two customer records that may be one person, found when a record arrives; staff merge or dismiss."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for review"
        MERGED = "merged", "Merged"
        DISMISSED = "dismissed", "Not the same person"

    dealer_group = models.ForeignKey(DealerGroup, on_delete=models.CASCADE, related_name="+")
    # customer_a_id < customer_b_id, so a pair is stored once whichever record arrived first.
    customer_a = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    customer_b = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reasons = models.JSONField(default=list)  # ["same email jo@example.com", "similar name and same address"]
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    found_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = RooftopScopedManager.from_queryset(DuplicateCandidateQuerySet)()

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["customer_a", "customer_b"], name="duplicate_pair_once"),
            models.CheckConstraint(condition=models.Q(customer_a__lt=models.F("customer_b")), name="duplicate_pair_ordered"),
        ]
        indexes = [models.Index(fields=["dealer_group", "status", "-found_at"])]


class MergeRecordQuerySet(RooftopQuerySet):
    def scope_filter(self, rooftop_ids):
        return models.Q(
            models.Exists(CustomerRooftop.objects.filter(customer_id=models.OuterRef("survivor_id"), rooftop_id__in=list(rooftop_ids)))
        )


class MergeRecord(TenantModel):
    """The log of one merge, with a snapshot of every row that moved, so it can be undone exactly."""

    dealer_group = models.ForeignKey(DealerGroup, on_delete=models.CASCADE, related_name="+")
    survivor = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    merged = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey(DuplicateCandidate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # {"moved": {"app.Model": [ids]}, "tracking_event": [ids], "filled": {field: old}, "rooftops_added": [ids], ...}
    snapshot = models.JSONField(default=dict)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    merged_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = RooftopScopedManager.from_queryset(MergeRecordQuerySet)()

    class Meta(TenantModel.Meta):
        indexes = [models.Index(fields=["survivor", "-merged_at"]), models.Index(fields=["merged", "-merged_at"])]


# --------------------------------------------------------------------------- messaging (customers.messaging)


class OutboundMessage(TenantModel):
    """An email or text to a customer: an outbox row written with the change that caused it, sent exactly once."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        WAITING_QUIET_HOURS = "waiting_quiet_hours", "Waiting for quiet hours to end"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Not sent (no consent, or do-not-contact)"

    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", "Automated first response"
        OPT_OUT_CONFIRMATION = "opt_out_confirmation", "Opt-out confirmation"
        STAFF = "staff", "Sent by staff"
        MARKETING = "marketing", "Campaign"
        PRICE_DROP = "price_drop", "Price-drop alert"
        ASSISTANT = "assistant", "Assistant reply"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="outbound_messages")
    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound_messages")
    # What staff wrote on the customer page (customers.outbound): its delivery status is kept on that entry.
    timeline_entry = models.ForeignKey(TimelineEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=5, choices=Channel.choices)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    purpose = models.CharField(max_length=20, choices=ConsentRecord.Purpose.choices, default=ConsentRecord.Purpose.TRANSACTIONAL)
    to_address = models.CharField(max_length=254)  # E.164 number or email address
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    # Unique per logical message; also sent to the provider so a resend after a crash is recognised there.
    idempotency_key = models.CharField(max_length=120, unique=True)
    send_after = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_id = models.CharField(max_length=100, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["send_after"], condition=models.Q(status__in=["queued", "waiting_quiet_hours"]),
                         name="outbound_due"),
            models.Index(fields=["claimed_at"], condition=models.Q(status="sending"), name="outbound_in_flight"),
            models.Index(fields=["customer", "-created_at"]),
            models.Index(fields=["lead", "created_at"]),
            # An email service's delivery webhooks find the message by the service's own id (marketing.receivers).
            models.Index(fields=["provider_id"], condition=~models.Q(provider_id=""), name="outbound_provider_id"),
        ]


class InboundMessage(models.Model):
    """A text a customer sent us, stored once per provider message id (providers retry webhooks)."""

    provider_id = models.CharField(max_length=100, unique=True)
    from_number = models.CharField(max_length=20)
    to_number = models.CharField(max_length=20)
    body = models.TextField(blank=True)
    is_opt_out = models.BooleanField(default=False)
    is_opt_in = models.BooleanField(default=False)
    customer_ids = models.JSONField(default=list, blank=True)  # every matched customer in the dealer group(s)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["from_number", "-received_at"])]


# --------------------------------------------------------------------------- privacy (customers.erasure)


class ErasureRecordQuerySet(RooftopQuerySet):
    def scope_filter(self, rooftop_ids):
        # The erased customer's row stays (anonymised) with the stores that knew them, so the record is seen
        # by the same stores' managers as the customer was.
        return models.Q(
            models.Exists(CustomerRooftop.objects.filter(customer_id=models.OuterRef("customer_id"),
                                                         rooftop_id__in=list(rooftop_ids)))
        )


class ErasureRecord(TenantModel):
    """That a customer's personal data was erased, why, by whom and what was removed. Holds no personal data.

    No foreign keys to the customer or the requester: the record must outlive both, as proof the request was
    honoured (CCPA asks for 24 months of request records).
    """

    class Source(models.TextChoices):
        STAFF = "staff", "Request taken by staff"
        COMMAND = "command", "Command line"
        RETENTION = "retention", "Retention period passed"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Erasing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    dealer_group = models.ForeignKey(DealerGroup, on_delete=models.PROTECT, related_name="+")
    customer_id = models.BigIntegerField()
    source = models.CharField(max_length=10, choices=Source.choices)
    requested_by_id = models.BigIntegerField(null=True, blank=True)
    requested_by_username = models.CharField(max_length=150, blank=True)  # as it was: users are renamed, deleted
    reason = models.CharField(max_length=500, blank=True)  # the request reference ("CCPA request 2026-114 by email")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    steps_total = models.PositiveSmallIntegerField(default=0)
    steps_done = models.PositiveSmallIntegerField(default=0)
    current_step = models.CharField(max_length=40, blank=True)
    # {"step": {"kind": rows}}: a step is written here in the same transaction as its work, so a re-run after a
    # crash skips exactly the steps that committed.
    counts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    objects = RooftopScopedManager.from_queryset(ErasureRecordQuerySet)()

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["dealer_group", "-created_at"]),
            models.Index(fields=["customer_id"]),
            # The resume sweep picks up records a lost task or a dead worker left unfinished, and failed ones.
            models.Index(fields=["created_at"], condition=models.Q(status__in=["queued", "running", "failed"]),
                         name="erasure_unfinished"),
        ]

    @property
    def active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        return round(100 * self.steps_done / self.steps_total) if self.steps_total else 0

    @property
    def removed(self) -> dict[str, int]:
        """Rows per kind over all steps, for the page and the command."""
        totals: dict[str, int] = {}
        for step in self.counts.values():
            for kind, rows in step.items():
                totals[kind] = totals.get(kind, 0) + rows
        return totals


class SuppressionKey(models.Model):
    """The dealer group's secret for suppression digests: made once, never shown, never rotated (rotating it
    would forget every suppressed address)."""

    dealer_group = models.OneToOneField(DealerGroup, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)


class SuppressionEntry(models.Model):
    """An address the dealer group must never contact again, kept only as a keyed hash (customers.suppression)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone (texts and calls)"

    class Reason(models.TextChoices):
        ERASURE = "erasure", "Personal data erased"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Marked as spam"

    dealer_group = models.ForeignKey(DealerGroup, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=5, choices=Channel.choices)
    digest = models.CharField(max_length=64)  # hex HMAC-SHA256 of the normalised address
    reason = models.CharField(max_length=12, choices=Reason.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dealer_group", "channel", "digest"], name="suppressed_once_per_group")
        ]
