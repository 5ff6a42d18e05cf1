import json
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from customers.models import Customer
from rooftops.models import Rooftop
from rooftops.runs import BackgroundRun
from rooftops.tenancy import TenantModel


class InventoryVehicle(TenantModel):
    class Condition(models.TextChoices):
        NEW = "new", "New"
        USED = "used", "Used"
        CPO = "cpo", "Certified pre-owned"

    class Status(models.TextChoices):
        IN_STOCK = "in_stock", "In stock"
        IN_TRANSIT = "in_transit", "In transit"
        SOLD = "sold", "Sold"
        # Gone from the store's inventory feed: off the lot pages, kept because leads and events point at it.
        UNLISTED = "unlisted", "Unlisted"

    LISTED_STATUSES = (Status.IN_STOCK, Status.IN_TRANSIT)

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="inventory")
    vin = models.CharField(max_length=17)  # check digit validated in leads.vin
    stock_number = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    make = models.CharField(max_length=50)
    model = models.CharField(max_length=80)
    trim = models.CharField(max_length=80, blank=True)
    body_style = models.CharField(max_length=40, blank=True)
    exterior_color = models.CharField(max_length=40, blank=True)
    condition = models.CharField(max_length=4, choices=Condition.choices)
    mileage = models.PositiveIntegerField(default=0)
    price_cents = models.BigIntegerField()
    msrp_cents = models.BigIntegerField(null=True, blank=True)
    interior_color = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_STOCK)
    photo_url = models.URLField(blank=True)  # the first of photo_urls: what lists and alerts show
    photo_urls = models.JSONField(default=list, blank=True)
    # When it came into stock (a feed's in-stock date or days in stock, else when it was added): days in stock.
    received_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Feed bookkeeping: the feed took it off (it comes back if it reappears; a vehicle staff marked sold does not).
    feed_unlisted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["rooftop", "vin"], name="vin_once_per_rooftop"),
            models.UniqueConstraint(fields=["rooftop", "stock_number"], name="stock_number_once_per_rooftop"),
        ]
        indexes = [models.Index(fields=["rooftop", "status", "make", "model"])]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return " ".join(str(p) for p in (self.year, self.make, self.model, self.trim) if p)

    def days_in_stock(self, now=None) -> int:
        return max(0, ((now or timezone.now()) - self.received_at).days)


class InventoryFeed(TenantModel):
    """A rooftop's inventory feed: where the vendor's CSV is fetched from and how its columns are named."""

    class GoneStatus(models.TextChoices):
        UNLISTED = "unlisted", "Unlisted (taken off the lot pages)"
        SOLD = "sold", "Sold"

    rooftop = models.OneToOneField(Rooftop, on_delete=models.CASCADE, related_name="inventory_feed")
    url = models.URLField(max_length=1000, blank=True)  # empty: uploads and the command only, no schedule
    # Our field name -> the vendor's header, only where it differs from the defaults in leads.feed.DEFAULT_COLUMNS.
    column_map = models.JSONField(default=dict, blank=True)
    gone_status = models.CharField(max_length=10, choices=GoneStatus.choices, default=GoneStatus.UNLISTED)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)



class InventoryFeedRun(BackgroundRun):
    """One load of a feed into a rooftop's inventory (leads.inventory_feed), with what it did and the rows it refused."""

    STALE_AFTER = timedelta(minutes=15)
    CLEARED_ON_ABANDON = ("upload",)

    class Source(models.TextChoices):
        URL = "url", "Feed URL"
        UPLOAD = "upload", "Uploaded file"
        COMMAND = "command", "Command line"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="inventory_feed_runs")
    source = models.CharField(max_length=8, choices=Source.choices)
    source_name = models.CharField(max_length=1000, blank=True)  # the URL or the file's name
    # An uploaded file waits here for the worker and is cleared once read.
    upload = models.BinaryField(null=True, blank=True, editable=False)
    # The manager said the feed is complete even though it lists under half of what is listed here.
    allow_shrink = models.BooleanField(default=False)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    returned = models.PositiveIntegerField(default=0)  # back in the feed after the feed took them off
    gone = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    kept_sold = models.PositiveIntegerField(default=0)  # still in the feed, but marked sold here by staff
    row_errors = models.JSONField(default=list, blank=True)  # [{"line", "vin", "stock_number", "reason"}]
    unlist_refused = models.TextField(blank=True)  # why vehicles missing from the feed were left listed

    class Meta(BackgroundRun.Meta):
        constraints = [
            # One load at a time per store: two overlapping loads would each unlist what the other added.
            models.UniqueConstraint(fields=["rooftop"], condition=models.Q(status__in=["queued", "running"]),
                                    name="inventory_feed_one_active_run_per_rooftop"),
        ]
        indexes = [models.Index(fields=["rooftop", "-created_at"], name="inventory_feed_run_latest")]

    @property
    def percent(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0


class PriceChange(models.Model):
    vehicle = models.ForeignKey(InventoryVehicle, on_delete=models.CASCADE, related_name="price_history")
    old_price_cents = models.BigIntegerField()
    new_price_cents = models.BigIntegerField()
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at"]


class Lead(TenantModel):
    """A customer's buying opportunity at one rooftop."""

    class Source(models.TextChoices):
        WEB_FORM = "web_form", "Website form"
        ADF = "adf", "Lead provider (ADF)"
        PHONE = "phone", "Phone"
        WALK_IN = "walk_in", "Walk-in"
        CHAT = "chat", "Chat"
        SERVICE = "service", "Service drive"
        EQUITY_MINING = "equity_mining", "Equity mining"

    class Status(models.TextChoices):
        NEW = "new", "New"
        WORKING = "working", "Working"
        APPOINTMENT_SET = "appointment_set", "Appointment set"
        SHOWN = "shown", "Shown"
        SOLD = "sold", "Sold"
        LOST = "lost", "Lost"

    OPEN_STATUSES = (Status.NEW, Status.WORKING, Status.APPOINTMENT_SET, Status.SHOWN)

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="leads")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="leads")
    source = models.CharField(max_length=16, choices=Source.choices)
    provider = models.CharField(max_length=100, blank=True)  # "Cars.com", "Toyota.com", ...
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    lost_reason = models.CharField(max_length=200, blank=True)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    vehicle = models.ForeignKey(InventoryVehicle, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    vehicle_description = models.CharField(max_length=200, blank=True)  # when not matched to inventory
    # Every vehicle of interest an ADF lead named, in its order (leads.adf.vehicle_as_record); `vehicle` and
    # `vehicle_description` stay the first one, which routing, scoring and the lists read.
    vehicles_of_interest = models.JSONField(default=list, blank=True)
    trade_in = models.JSONField(default=dict, blank=True)  # {"year", "make", "model", "mileage", "vin"}
    comments = models.TextField(blank=True)
    # Speed to lead: each step is stamped once, when it first happens.
    created_at = models.DateTimeField(default=timezone.now)
    assigned_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)  # automated
    first_attempt_at = models.DateTimeField(null=True, blank=True)  # first human call/text/email
    first_contact_at = models.DateTimeField(null=True, blank=True)  # the customer answered
    status_changed_at = models.DateTimeField(null=True, blank=True)
    sold_at = models.DateTimeField(null=True, blank=True)
    # Same lead delivered twice (mail and HTTP, or resent) must make one lead.
    dedupe_key = models.CharField(max_length=128, blank=True)
    raw_adf = models.TextField(blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["rooftop", "dedupe_key"], condition=~models.Q(dedupe_key=""), name="lead_dedupe_per_rooftop"
            )
        ]
        indexes = [
            models.Index(fields=["rooftop", "-created_at"]),
            models.Index(fields=["assigned_to", "status"]),
            models.Index(fields=["customer", "-created_at"]),
            # Beat adopts fresh unrouted leads every 15 s: keep that a tiny index scan on a large table.
            models.Index(fields=["created_at"], condition=models.Q(status="new", assigned_to__isnull=True),
                         name="lead_new_unassigned"),
        ]

    def __str__(self) -> str:
        return f"Lead {self.pk} ({self.get_source_display()})"


class LeadStatusChange(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    reason = models.CharField(max_length=200, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)


# --------------------------------------------------------------------------- routing and the response clock


class RoutingRule(TenantModel):
    """How one rooftop routes one lead source, and how fast someone must answer (read by leads.routing)."""

    class Mode(models.TextChoices):
        ROUND_ROBIN = "round_robin", "Round robin"
        WEIGHTED = "weighted", "Weighted shares"
        NAMED_OWNER = "named_owner", "Named owner"
        POOL = "pool", "Pool (up for grabs)"

    class AfterHours(models.TextChoices):
        NEXT_SHIFT = "next_shift", "Next shift"
        POOL = "pool", "BDC pool"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="routing_rules")
    source = models.CharField(max_length=16, choices=Lead.Source.choices)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.ROUND_ROBIN)
    named_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    response_minutes = models.PositiveSmallIntegerField(default=15)
    warn_before_minutes = models.PositiveSmallIntegerField(default=5)
    max_hops = models.PositiveSmallIntegerField(default=2)
    # A lead arriving while the store is closed is assigned at once to whoever works when it opens (its clock
    # counting from the opening), or left in the pool for the BDC. Read by leads.routing.choose_after_hours.
    after_hours = models.CharField(max_length=12, choices=AfterHours.choices, default=AfterHours.NEXT_SHIFT)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["rooftop", "source"], name="one_routing_rule_per_source")]

    def __str__(self) -> str:
        return f"{self.rooftop} {self.get_source_display()}: {self.get_mode_display()}"


class SalesRosterEntry(TenantModel):
    """A salesperson as lead routing sees them at one rooftop: share of weighted leads, on the roster, shift."""

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="sales_roster")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sales_roster")
    weight = models.PositiveSmallIntegerField(default=1)
    # Off the roster: still a salesperson (sees their leads) but gets no new ones.
    active = models.BooleanField(default=True)
    # Their own hours in BusinessHours JSON; empty means "whenever the store is open".
    shift = models.JSONField(default=dict, blank=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["rooftop", "user"], name="on_the_sales_roster_once")]

    @property
    def shift_json(self) -> str:
        return json.dumps(self.shift) if self.shift else ""


class LeadClock(TenantModel):
    """A lead's response clock. Deadlines live here and beat sweeps them, so a restart loses nothing."""

    class StopReason(models.TextChoices):
        HUMAN_ACTION = "human_action", "Someone called, texted or emailed"
        STATUS_CHANGE = "status_change", "Status changed"
        ESCALATED = "escalated", "Escalated to a manager"

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="clock")
    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    urgent = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    deadline_at = models.DateTimeField()
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    hops = models.PositiveSmallIntegerField(default=0)
    # A lead waiting in the pool under a rule that assigns people: when to try to assign it again.
    assign_retry_at = models.DateTimeField(null=True, blank=True)
    # Set when the clock was started while the store was closed: it counts from this opening, and nothing
    # moves the lead before then (there is nobody to move it to).
    opens_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=16, choices=StopReason.choices, blank=True)
    stopped_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        indexes = [
            # The sweep reads only running clocks; partial indexes keep it one short index scan.
            models.Index(fields=["deadline_at"], condition=models.Q(stopped_at__isnull=True), name="clock_running_deadline"),
            models.Index(fields=["warn_at"], condition=models.Q(stopped_at__isnull=True, warned_at__isnull=True),
                         name="clock_running_warn"),
            models.Index(fields=["assign_retry_at"], condition=models.Q(stopped_at__isnull=True),
                         name="clock_running_assign_retry"),
            models.Index(fields=["owner"], condition=models.Q(stopped_at__isnull=True), name="clock_running_owner"),
        ]

    @property
    def running(self) -> bool:
        return self.stopped_at is None


class LeadReroute(TenantModel):
    """One move of a lead between people (or to a manager), kept for the lead's history and manager KPIs.

    kpis reads this table: a kind containing "deadline" counts as a missed response deadline there.
    """

    class Kind(models.TextChoices):
        DEADLINE = "deadline", "Rerouted: deadline missed"
        UNAVAILABLE = "unavailable", "Rerouted: owner stepped away"
        ESCALATE = "escalate", "Escalated to a manager"
        REASSIGN = "reassign", "Reassigned by hand"

    REROUTE_KINDS = (Kind.DEADLINE, Kind.UNAVAILABLE)
    ROOFTOP_LOOKUP = "lead__rooftop_id"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="reroutes")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=500)
    hop = models.PositiveSmallIntegerField(default=0)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        indexes = [models.Index(fields=["at"]), models.Index(fields=["lead", "at"])]


class LeadNotification(TenantModel):
    """A note to one staff member about a lead (warned, rerouted, escalated), also pushed live."""

    class Kind(models.TextChoices):
        NEW_LEAD = "new_lead", "New lead"
        WARN = "warn", "Deadline close"
        REROUTE = "reroute", "Rerouted"
        ESCALATE = "escalate", "Escalated"
        REPLY = "reply", "Customer replied"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lead_notifications")
    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [models.Index(fields=["user", "-created_at"])]


class LeadResponseTemplate(TenantModel):
    """The automated first response a rooftop sends for one lead source on one channel."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="response_templates")
    source = models.CharField(max_length=16, choices=Lead.Source.choices)
    channel = models.CharField(max_length=5, choices=Channel.choices)
    subject = models.CharField(max_length=200, blank=True)  # email only
    body = models.TextField()
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["rooftop", "source", "channel"], name="one_response_template_per_channel")
        ]


# --- ADF intake (customers engineer): the needs-review queue --------------------------------------------------
class AdfReview(TenantModel):
    """An ADF delivery that could not be read into a lead, kept whole with the reason until staff fix it.

    Nothing a provider delivered is lost: malformed XML (answered 400), documents with no usable customer
    (answered 201 needs_review) and refused unsafe documents all land here.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Needs review"
        ACCEPTED = "accepted", "Accepted as a lead"
        DISCARDED = "discarded", "Discarded"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    raw = models.TextField()
    reason = models.CharField(max_length=500)
    refused = models.BooleanField(default=False)  # refused for safety (DTD, entities): likely an attack
    received_via = models.CharField(max_length=20)  # http, email, demo
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [models.Index(fields=["rooftop", "status", "-received_at"])]
