"""Reads for alerts and shopper intent. Every staff-facing read goes through `alerts_visible(access)`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from alerts.audience import TEAM_ROLE
from alerts.facts import ActivityLine, condense_activity
from alerts.labels import DISMISS_REASONS
from alerts.models import Alert, ScoringFit, ScoringSettings, ShopperIntent
from alerts.scoring import ScoringRules, ShopperState, current_score, describe_reasons
from customers.models import Customer, CustomerEmail, CustomerPhone
from rooftops.models import Role, StaffProfile
from rooftops.tenancy import StaffAccess, get_scoped_or_404
from tracking.models import TrackedEvent, Visitor

FEED_PAGE_SIZE = 25
REPLAY_LIMIT = 200
ACTIVITY_EVENTS = 15

# Closed alerts stay replayable (a colleague may have dismissed one while you were offline) but leave the feed.
CLOSED_STATES = (Alert.State.DISMISSED, Alert.State.EXPIRED)


# --- who sees what ---------------------------------------------------------------------------------

def alert_visibility_q(access: StaffAccess) -> Q:
    """Alerts addressed to this person, to a team they are on, or at a store they manage."""
    q = Q(for_user_id=access.user_id)
    managed = access.rooftops_with_role(Role.MANAGER)
    if managed:
        q |= Q(rooftop_id__in=sorted(managed))
    for team, role in TEAM_ROLE.items():
        rooftops = access.rooftops_with_role(role)
        if rooftops:
            q |= Q(rooftop_id__in=sorted(rooftops), for_team=team)
    return q


def alerts_visible(access: StaffAccess) -> QuerySet[Alert]:
    return Alert.objects.for_access(access).filter(alert_visibility_q(access))


def alerts_replay(*, access: StaffAccess, after: int, limit: int = REPLAY_LIMIT) -> list[Alert]:
    """Every alert (and follow-up) for this person after `after`, in id order: what a reconnecting feed missed."""
    return list(
        _with_row_relations(alerts_visible(access).filter(id__gt=after)).order_by("id")[: max(1, min(limit, 500))]
    )


def feed_high_water(access: StaffAccess) -> int:
    """The newest alert id this person may see: the page resumes its websocket after it."""
    return alerts_visible(access).aggregate(top=Max("id"))["top"] or 0


def feed_alerts(*, access: StaffAccess, before: FeedCursor | None = None, upto: int | None = None,
                include_closed: bool = False, now: datetime | None = None,
                limit: int = FEED_PAGE_SIZE) -> list[Alert]:
    """Root alerts for the feed, the shopper with the latest signal first; snoozed ones hidden until their time."""
    now = now or timezone.now()
    qs = alerts_visible(access).filter(parent__isnull=True)
    if before is not None:
        qs = qs.filter(Q(last_signal_at__lt=before.last_signal_at)
                       | Q(last_signal_at=before.last_signal_at, id__lt=before.id))
    if upto is not None:
        qs = qs.filter(id__lte=upto)
    if not include_closed:
        qs = qs.exclude(state__in=CLOSED_STATES).exclude(snoozed_until__gt=now)
    return list(_with_row_relations(qs).order_by("-last_signal_at", "-id")[:limit])


@dataclass(frozen=True)
class FeedCursor:
    """Where "Load older" continues: the last row's latest signal and id, as `<microseconds>_<id>` in URLs."""

    last_signal_at: datetime
    id: int

    @classmethod
    def after_row(cls, alert: Alert) -> FeedCursor:
        return cls(alert.last_signal_at, alert.id)

    @classmethod
    def parse(cls, text: str) -> FeedCursor:
        micros, sep, ident = (text or "").partition("_")
        if not sep or not micros.isdigit() or not ident.isdigit() or len(micros) > 17 or len(ident) > 18:
            raise ValueError("before must be a feed position as given by the page")
        at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(micros))
        return cls(at, int(ident))

    def __str__(self) -> str:
        delta = self.last_signal_at - datetime(1970, 1, 1, tzinfo=UTC)
        return f"{delta // timedelta(microseconds=1)}_{self.id}"


def _with_row_relations(qs: QuerySet[Alert]) -> QuerySet[Alert]:
    # Few joins on purpose: a wide join costs more to plan than to run, and this is read on every push.
    return qs.select_related("rooftop", "customer", "vehicle")


# --- rows as the feed shows them ----------------------------------------------------------------

@dataclass
class AlertRow:
    alert: Alert
    follow_ups: list[Alert] = field(default_factory=list)
    activity: list[ActivityLine] = field(default_factory=list)
    phone: str = ""
    email: str = ""
    time_zone: str = "UTC"
    viewer_id: int = 0
    claimed_by_name: str = ""
    for_user_name: str = ""

    @property
    def claimed_by_viewer(self) -> bool:
        return self.alert.claimed_by_id == self.viewer_id

    @property
    def claimed_by_other(self) -> bool:
        return self.alert.claimed_by_id is not None and self.alert.claimed_by_id != self.viewer_id

    @property
    def who(self) -> str:
        return self.alert.customer.full_name if self.alert.customer_id else "Anonymous shopper"

    @property
    def dismiss_reasons(self):
        return DISMISS_REASONS.items()

    @property
    def snoozed(self) -> bool:
        return bool(self.alert.snoozed_until and self.alert.snoozed_until > timezone.now())


def alert_rows(alerts: list[Alert], *, viewer_id: int) -> list[AlertRow]:
    """Everything a row shows: grouped follow-ups, the shopper's condensed recent activity, contact points."""
    parent_ids = sorted({a.parent_id for a in alerts if a.parent_id})
    parents = {p.id: p for p in _with_row_relations(Alert.unscoped.filter(id__in=parent_ids))} if parent_ids else {}
    roots: list[Alert] = []
    for a in alerts:
        roots.append(parents.get(a.parent_id, a) if a.parent_id else a)
    with_follow_ups = sorted({a.id for a in roots if a.follow_up_count})
    follow_ups: dict[int, list[Alert]] = {}
    if with_follow_ups:
        for f in Alert.unscoped.filter(parent_id__in=with_follow_ups).order_by("-id")[: 20 * len(with_follow_ups)]:
            follow_ups.setdefault(f.parent_id, []).append(f)
    customer_ids = sorted({a.customer_id for a in roots if a.customer_id})
    phones: dict[int, str] = {}
    emails: dict[int, str] = {}
    if customer_ids:
        for customer_id, e164 in CustomerPhone.objects.filter(customer_id__in=customer_ids).order_by(
                "customer_id", "-is_primary", "id").values_list("customer_id", "e164"):
            phones.setdefault(customer_id, e164)
        for customer_id, email in CustomerEmail.objects.filter(customer_id__in=customer_ids).order_by(
                "customer_id", "-is_primary", "id").values_list("customer_id", "email"):
            emails.setdefault(customer_id, email)
    user_ids = {uid for a in roots for uid in (a.claimed_by_id, a.for_user_id) if uid}
    names = dict(StaffProfile.objects.filter(user_id__in=sorted(user_ids)).values_list("user_id", "display_name")) \
        if user_ids else {}
    return [
        AlertRow(
            alert=root, follow_ups=follow_ups.get(root.id, [])[:20], activity=recent_activity(root),
            phone=phones.get(root.customer_id, ""), email=emails.get(root.customer_id, ""),
            time_zone=root.rooftop.time_zone, viewer_id=viewer_id,
            claimed_by_name=names.get(root.claimed_by_id, "a colleague") if root.claimed_by_id else "",
            for_user_name=names.get(root.for_user_id, "") if root.for_user_id else "",
        )
        for root in roots
    ]


def recent_activity(alert: Alert, *, limit: int = 5) -> list[ActivityLine]:
    """The shopper's last few website actions (every browser of the customer), newest first, repeats folded."""
    if alert.customer_id:
        browsers = Q(visitor_id__in=Visitor.unscoped.filter(customer_id=alert.customer_id).values("id"))
    elif alert.visitor_id:
        browsers = Q(visitor_id=alert.visitor_id)
    else:
        return []
    events = (
        TrackedEvent.unscoped.filter(browsers, type="track")
        .order_by("-occurred_at")
        .values_list("type", "event", "occurred_at", "properties")[:ACTIVITY_EVENTS]
    )
    return condense_activity(events, limit=limit)


# --- scoring configuration --------------------------------------------------------------------------

@dataclass(frozen=True)
class ScoringConfig:
    rules: ScoringRules
    alert_anonymous_shoppers: bool = False
    alert_expiry_hours: int = 24
    customized: bool = False


def scoring_config(*, rooftop_id: int) -> ScoringConfig:
    """The rooftop's rules; the shipped defaults when it has not tuned them (or the stored JSON no longer loads)."""
    return scoring_config_from_row(ScoringSettings.unscoped.filter(rooftop_id=rooftop_id).first())


def scoring_config_from_row(row: ScoringSettings | None) -> ScoringConfig:
    if row is None:
        return ScoringConfig(rules=ScoringRules())
    try:
        rules = ScoringRules.from_dict(row.rules or {})
    except ValueError:
        rules = ScoringRules()
    return ScoringConfig(
        rules=rules, alert_anonymous_shoppers=row.alert_anonymous_shoppers,
        alert_expiry_hours=row.alert_expiry_hours, customized=bool(row.rules),
    )


# --- the shopper's intent on the customer page --------------------------------------------------------

@dataclass(frozen=True)
class IntentView:
    score: float
    trend: str
    level: str
    reasons: list[str]
    last_event_at: datetime | None
    event_count: int
    hot_score: float
    warm_score: float

    @property
    def trend_symbol(self) -> str:
        return {"rising": "▲", "cooling": "▼"}.get(self.trend, "▶")

    @property
    def bar_percent(self) -> int:
        return max(0, min(100, round(100 * self.score / max(self.hot_score * 1.5, 1))))


def intent_for_customer(
    customer: Customer, *, rooftop_ids: Iterable[int] | None = None, now: datetime | None = None
) -> IntentView | None:
    """Score (decayed to now), trend and plain-language reasons of the customer's most recently active browser.

    The caller has already authorized `customer`; this reads through it on purpose.
    """
    now = now or timezone.now()
    intents = ShopperIntent.unscoped.filter(customer_id=customer.pk)
    if rooftop_ids is not None:
        # A customer shared by the group: one store does not see what was browsed at another.
        intents = intents.filter(rooftop_id__in=list(rooftop_ids))
    intent = intents.select_related("rooftop").order_by("-updated_at").first()
    if intent is None:
        return None
    config = scoring_config(rooftop_id=intent.rooftop_id)
    try:
        state = ShopperState.from_dict(intent.state)
    except ValueError:
        return None
    local_now = now.astimezone(ZoneInfo(intent.rooftop.time_zone))
    score = current_score(state, rules=config.rules, now=now)
    trend = intent.trend
    # Nothing new since the last event: a score that has visibly decayed is cooling whatever it did then.
    if intent.score > 0 and score < 0.9 * intent.score:
        trend = ShopperIntent.Trend.COOLING
    level = "hot" if score >= config.rules.hot_score else "warm" if score >= config.rules.warm_score else "cold"
    return IntentView(
        score=score, trend=trend, level=level, reasons=describe_reasons(state, now=local_now),
        last_event_at=intent.last_event_at, event_count=intent.event_count,
        hot_score=config.rules.hot_score, warm_score=config.rules.warm_score,
    )


def hottest_shoppers(*, access: StaffAccess, rooftop_id: int, limit: int = 20) -> QuerySet[ShopperIntent]:
    """The store's highest-scoring identified shoppers (score as of their last event)."""
    return (
        ShopperIntent.objects.for_access(access).filter(rooftop_id=rooftop_id, customer__isnull=False)
        .select_related("customer").order_by("-score")[:limit]
    )


__all__ = [
    "AlertRow", "IntentView", "ScoringConfig", "alert_rows", "alert_visibility_q", "alerts_replay", "alerts_visible",
    "feed_alerts", "feed_high_water", "hottest_shoppers", "intent_for_customer", "recent_activity", "scoring_config",
]


# --- outcomes for fitting the weights ----------------------------------------------------------------

OUTCOME_CHUNK = 500  # shoppers read per step of a fit: one events query each, and one progress update

# Each shopper's own window is applied in SQL (the join on the unnest), so a chunk fetches only the events
# that count; the constant outer bounds let PostgreSQL skip monthly partitions outside the chunk's span.
OUTCOME_EVENTS_SQL = """
SELECT r.customer_id, e.type, e.event, e.occurred_at, e.vin, e.properties
FROM unnest(%s::bigint[], %s::timestamptz[]) AS r(customer_id, reference)
JOIN tracking_visitor v ON v.customer_id = r.customer_id
JOIN tracking_event e ON e.visitor_id = v.id
WHERE e.rooftop_id = %s AND e.type = 'track'
  AND e.occurred_at >= %s AND e.occurred_at <= %s
  AND e.occurred_at >= r.reference - %s AND e.occurred_at <= r.reference
"""


def _outcome_leads(*, rooftop_id: int, now: datetime, outcome_days: int, history_days: int):
    from datetime import timedelta

    from leads.models import Lead

    return Lead.objects.for_rooftops([rooftop_id]).filter(
        created_at__gte=now - timedelta(days=history_days), created_at__lte=now - timedelta(days=outcome_days))


def outcome_shopper_count(*, rooftop_id: int, now: datetime, outcome_days: int = 30, history_days: int = 365) -> int:
    """How many shoppers a fit reads (those with a first lead in the window): the total of its progress bar."""
    return (_outcome_leads(rooftop_id=rooftop_id, now=now, outcome_days=outcome_days, history_days=history_days)
            .values("customer_id").distinct().count())


def outcome_row_chunks(*, rooftop_id: int, now: datetime, window_days: int = 30, outcome_days: int = 30,
                       history_days: int = 365, chunk_size: int = OUTCOME_CHUNK):
    """Shoppers with a known outcome, `chunk_size` at a time in customer id order: yields (shoppers read, their
    rows). A row is the website events in the window before the shopper's first lead and whether that lead sold
    within `outcome_days`; shoppers without website activity are read but give no row (scoring cannot rank them).

    The first leads stream from one server-side cursor (DISTINCT ON customer), so the worker holds one chunk of
    leads and events at a time however large the store is.
    """
    from datetime import timedelta

    first_leads = (
        _outcome_leads(rooftop_id=rooftop_id, now=now, outcome_days=outcome_days, history_days=history_days)
        .order_by("customer_id", "created_at").distinct("customer_id")
        .values_list("customer_id", "created_at", "sold_at")
    )
    chunk: list[tuple[int, datetime, datetime | None]] = []
    for first_lead in first_leads.iterator(chunk_size=chunk_size):
        chunk.append(first_lead)
        if len(chunk) == chunk_size:
            yield len(chunk), _outcome_rows_for(chunk, rooftop_id=rooftop_id, window=timedelta(days=window_days),
                                                outcome=timedelta(days=outcome_days))
            chunk = []
    if chunk:
        yield len(chunk), _outcome_rows_for(chunk, rooftop_id=rooftop_id, window=timedelta(days=window_days),
                                            outcome=timedelta(days=outcome_days))


def _outcome_rows_for(first_leads, *, rooftop_id: int, window, outcome) -> list:
    from django.db import connection

    from alerts.facts import event_fact
    from alerts.outcomes import OutcomeRow

    by_customer = {customer_id: (created_at, sold_at) for customer_id, created_at, sold_at in first_leads}
    references = [created_at for _, created_at, _ in first_leads]
    events: dict[int, list] = {}
    with connection.cursor() as cursor:
        cursor.execute(OUTCOME_EVENTS_SQL, [
            [customer_id for customer_id, _, _ in first_leads], references, rooftop_id,
            min(references) - window, max(references), window,
        ])
        for customer_id, type_, event, occurred_at, vin, properties in cursor.fetchall():
            fact = event_fact(type=type_, event=event, occurred_at=occurred_at, vin=vin, properties=properties)
            if fact is not None:
                events.setdefault(customer_id, []).append(fact)
    rows = []
    for customer_id, facts in sorted(events.items()):
        reference, sold_at = by_customer[customer_id]
        sold = sold_at is not None and reference <= sold_at <= reference + outcome
        # Sorted so a row does not depend on the order PostgreSQL happened to return the events in.
        rows.append(OutcomeRow(events=tuple(sorted(facts, key=lambda f: f.occurred_at)), reference=reference,
                               sold=sold))
    return rows


def outcome_rows(*, rooftop_id: int, now: datetime, window_days: int = 30, outcome_days: int = 30,
                 history_days: int = 365) -> list:
    """Every shopper's outcome row at once (tests and small stores; a fit reads them chunk by chunk)."""
    return [row for _, rows in outcome_row_chunks(rooftop_id=rooftop_id, now=now, window_days=window_days,
                                                  outcome_days=outcome_days, history_days=history_days)
            for row in rows]


# --- fit runs ----------------------------------------------------------------------------------------

def latest_scoring_fit(*, access: StaffAccess, rooftop_id: int) -> ScoringFit | None:
    """The newest fit run at a store, if this person manages it; None for a store they do not manage."""
    if not access.has_role(rooftop_id, Role.MANAGER):
        return None
    return ScoringFit.objects.for_access(access).filter(rooftop_id=rooftop_id).order_by("-created_at", "-id").first()


def access_scoring_fit(*, access: StaffAccess, fit_id: int) -> ScoringFit:
    """One fit run, for a manager of its store; anyone else (and a missing id) gets the same 404."""
    managed = access.rooftops_with_role(Role.MANAGER)
    return get_scoped_or_404(ScoringFit.objects.filter(rooftop_id__in=sorted(managed)).select_related("rooftop"),
                             access, id=fit_id)
