"""Incremental, explainable buying-signal scoring for website shoppers."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Mapping

__all__ = [
    "EVENT_KINDS",
    "PRIORITIES",
    "SIGNAL_KINDS",
    "CooldownMark",
    "EventFact",
    "FormTrack",
    "ScoreUpdate",
    "ScoringRules",
    "ShopperContext",
    "ShopperState",
    "Signal",
    "StandingReason",
    "VehicleTrack",
    "alert_level",
    "apply_event",
    "check_idle",
    "current_score",
    "describe_reasons",
    "priority_rank",
]

# --- vocabulary -----------------------------------------------------------------

PAGEVIEW = "asc_pageview"
VDP_VIEW = "asc_item_pageview"
SRP_VIEW = "asc_itemlist_pageview"
CTA = "asc_cta_interaction"
FORM_ENGAGEMENT = "asc_form_engagement"
FORM_SUBMISSION = "asc_form_submission"
SPECIAL_OFFER = "asc_special_offer"
TRADE_CALC = "trade_in_calculator_completed"
PAYMENT_CALC = "payment_calculator_used"
PRICE_ALERT_SUBSCRIBED = "price_drop_alert_subscribed"
PRICE_ALERT_CLICKED = "price_drop_alert_clicked"
CREDIT_APP = "credit_application_started"
CHAT = "chat_started"

EVENT_KINDS = (
    PAGEVIEW, VDP_VIEW, SRP_VIEW, CTA, FORM_ENGAGEMENT, FORM_SUBMISSION, SPECIAL_OFFER,
    TRADE_CALC, PAYMENT_CALC, PRICE_ALERT_SUBSCRIBED, PRICE_ALERT_CLICKED, CREDIT_APP, CHAT,
)

REPEAT_VDP = "repeat_vdp_views"
SAME_MODEL = "same_model_shopping"
TRADE_IN = "trade_in_completed"
PAYMENT = "payment_calculator"
PRICE_ALERT = "price_alert_clicked"
CREDIT = "credit_app_started"
FORM_ABANDONED = "form_abandoned"
RETURNED = "returned_after_silence"
EQUITY = "equity_shopper"
PRICE_DROP = "price_drop_on_viewed_vehicle"

SIGNAL_KINDS = (
    REPEAT_VDP, SAME_MODEL, TRADE_IN, PAYMENT, PRICE_ALERT, CREDIT,
    FORM_ABANDONED, RETURNED, EQUITY, PRICE_DROP,
)

# Ranks match alerts.models.Alert.Priority so callers can store the rank directly.
PRIORITIES = ("low", "medium", "high", "urgent")
_RANK = {name: rank for rank, name in enumerate(PRIORITIES, start=1)}

TRENDS = ("rising", "steady", "cooling")
LEVELS = ("cold", "warm", "hot")

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    PAGEVIEW: 1, VDP_VIEW: 3, SRP_VIEW: 1, CTA: 4, FORM_ENGAGEMENT: 3, FORM_SUBMISSION: 15,
    TRADE_CALC: 12, PAYMENT_CALC: 8, PRICE_ALERT_SUBSCRIBED: 6, PRICE_ALERT_CLICKED: 10,
    CREDIT_APP: 20, CHAT: 8, SPECIAL_OFFER: 3,
}

DEFAULT_SIGNAL_WEIGHTS: dict[str, float] = {
    REPEAT_VDP: 15, SAME_MODEL: 10, TRADE_IN: 20, PAYMENT: 10, PRICE_ALERT: 12,
    CREDIT: 30, FORM_ABANDONED: 10, RETURNED: 8, EQUITY: 15, PRICE_DROP: 10,
}

DEFAULT_COOLDOWN_MINUTES: dict[str, float] = {
    REPEAT_VDP: 24 * 60, SAME_MODEL: 24 * 60, TRADE_IN: 24 * 60, PAYMENT: 12 * 60,
    PRICE_ALERT: 12 * 60, CREDIT: 24 * 60, FORM_ABANDONED: 4 * 60, RETURNED: 24 * 60,
    EQUITY: 7 * 24 * 60, PRICE_DROP: 24 * 60,
}

_BROWSING_KINDS = frozenset({VDP_VIEW, SRP_VIEW})
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def priority_rank(priority: str) -> int:
    """Return 1 (low) to 4 (urgent) so priorities can be compared."""
    try:
        return _RANK[priority]
    except KeyError:
        raise ValueError(f"unknown priority {priority!r}; expected one of {', '.join(PRIORITIES)}") from None


# --- small validation helpers -----------------------------------------------------

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _aware(value: Any, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value


def _parse_dt(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{name} is not an ISO-8601 datetime: {value!r}") from None
    return _aware(value, name)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _opt_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer number of cents, got {value!r}")
    return value


# --- rules ------------------------------------------------------------------------

@dataclass(frozen=True)
class ScoringRules:
    """Tunable thresholds, weights and quiet periods; defaults suit a typical rooftop."""

    half_life_hours: float = 72.0
    event_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    repeat_vdp_count: int = 4
    repeat_vdp_window_hours: float = 48.0
    same_model_vehicle_count: int = 3
    same_model_window_hours: float = 72.0
    return_after_days: float = 21.0
    form_abandon_minutes: float = 30.0
    form_abandon_max_hours: float = 48.0
    signal_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SIGNAL_WEIGHTS))
    cooldown_minutes: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_COOLDOWN_MINUTES))
    hot_score: float = 60.0
    warm_score: float = 30.0
    reason_ttl_hours: float = 168.0
    max_tracked_vehicles: int = 25
    max_views_per_vehicle: int = 12
    max_tracked_forms: int = 8
    max_cooldown_marks: int = 32
    max_standing_reasons: int = 8

    def __post_init__(self) -> None:
        for name in (
            "half_life_hours", "repeat_vdp_window_hours", "same_model_window_hours",
            "return_after_days", "form_abandon_minutes", "form_abandon_max_hours", "reason_ttl_hours",
        ):
            value = getattr(self, name)
            if not _is_number(value):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if value <= 0:
                raise ValueError(f"{name} must be greater than 0, got {value!r}")
        for name in (
            "repeat_vdp_count", "same_model_vehicle_count", "max_tracked_vehicles",
            "max_views_per_vehicle", "max_tracked_forms", "max_cooldown_marks", "max_standing_reasons",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value!r}")
        for name in ("hot_score", "warm_score"):
            value = getattr(self, name)
            if not _is_number(value) or value < 0:
                raise ValueError(f"{name} must be a number of at least 0, got {value!r}")
        if self.hot_score < self.warm_score:
            raise ValueError(f"hot_score ({self.hot_score}) must not be below warm_score ({self.warm_score})")
        if self.form_abandon_max_hours * 60 <= self.form_abandon_minutes:
            raise ValueError("form_abandon_max_hours must be longer than form_abandon_minutes")
        # Partial overrides merge onto the defaults so a rooftop can retune one weight
        # without silently zeroing every other event kind.
        object.__setattr__(self, "event_weights", self._merged("event_weights", DEFAULT_EVENT_WEIGHTS, None))
        object.__setattr__(self, "signal_weights", self._merged("signal_weights", DEFAULT_SIGNAL_WEIGHTS, SIGNAL_KINDS))
        object.__setattr__(self, "cooldown_minutes", self._merged("cooldown_minutes", DEFAULT_COOLDOWN_MINUTES, SIGNAL_KINDS))

    def _merged(self, name: str, defaults: Mapping[str, float], allowed: tuple[str, ...] | None) -> dict[str, float]:
        given = getattr(self, name)
        if not isinstance(given, Mapping):
            raise ValueError(f"{name} must be a mapping of kind to number, got {type(given).__name__}")
        merged = dict(defaults)
        for key, value in given.items():
            if not isinstance(key, str) or not key:
                raise ValueError(f"{name} keys must be non-empty strings, got {key!r}")
            if allowed is not None and key not in allowed:
                raise ValueError(f"{name} has unknown signal kind {key!r}; expected one of {', '.join(allowed)}")
            if not _is_number(value) or value < 0:
                raise ValueError(f"{name}[{key!r}] must be a number of at least 0, got {value!r}")
            merged[key] = value
        return merged

    def event_weight(self, kind: str) -> float:
        """Engagement points for one event kind; unknown kinds weigh nothing."""
        return float(self.event_weights.get(kind, 0))

    @property
    def longest_window_hours(self) -> float:
        """How far back per-vehicle view timestamps are kept."""
        return max(self.repeat_vdp_window_hours, self.same_model_window_hours)

    @property
    def view_cap(self) -> int:
        """Timestamps kept per vehicle; never too few to notice an urgent repeat."""
        return max(self.max_views_per_vehicle, 2 * self.repeat_vdp_count)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable copy."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = dict(value) if isinstance(value, Mapping) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoringRules:
        """Build rules from stored settings, ignoring keys this version does not know."""
        if not isinstance(data, Mapping):
            raise ValueError(f"scoring rules must be a mapping, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


DEFAULT_RULES = ScoringRules()


# --- inputs -----------------------------------------------------------------------

@dataclass(frozen=True)
class EventFact:
    """One tracked shopper event, already normalised from the ASC/CRM payload."""

    kind: str
    occurred_at: datetime
    vin: str | None = None
    stock_number: str | None = None
    year: int | str | None = None
    make: str | None = None
    model: str | None = None
    trim: str | None = None
    price_cents: int | None = None
    form_type: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not self.kind.strip():
            raise ValueError(f"event kind must be a non-empty string, got {self.kind!r}")
        _aware(self.occurred_at, "occurred_at")
        _opt_int(self.price_cents, "price_cents")
        if not isinstance(self.properties, Mapping):
            raise ValueError("properties must be a mapping")
        object.__setattr__(self, "properties", dict(self.properties))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EventFact:
        """Build an event from a task payload, ignoring unknown keys."""
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["occurred_at"] = _parse_dt(data.get("occurred_at"), "occurred_at")
        values["properties"] = data.get("properties") or {}
        return cls(**values)


@dataclass(frozen=True)
class ShopperContext:
    """Facts about the shopper that come from the DMS/CRM rather than the event stream."""

    has_positive_equity: bool = False
    equity_cents: int | None = None
    is_service_customer: bool = False
    price_drops: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _opt_int(self.equity_cents, "equity_cents")
        if not isinstance(self.price_drops, Mapping):
            raise ValueError("price_drops must map VIN to (old_cents, new_cents)")
        drops: dict[str, tuple[int, int]] = {}
        for vin, pair in self.price_drops.items():
            try:
                old, new = pair
            except (TypeError, ValueError):
                raise ValueError(f"price_drops[{vin!r}] must be (old_cents, new_cents), got {pair!r}") from None
            drops[_norm_vin(vin)] = (_opt_int(old, "old_cents") or 0, _opt_int(new, "new_cents") or 0)
        object.__setattr__(self, "price_drops", drops)


EMPTY_CONTEXT = ShopperContext()


# --- state --------------------------------------------------------------------------

@dataclass(frozen=True)
class VehicleTrack:
    """What one shopper did with one vehicle, trimmed to the longest window."""

    key: str
    vin: str | None = None
    stock: str | None = None
    year: int | str | None = None
    make: str | None = None
    model: str | None = None
    trim: str | None = None
    views: tuple[datetime, ...] = ()
    last_seen_at: datetime | None = None
    total_views: int = 0
    price_alerted_cents: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable copy."""
        return {
            "key": self.key, "vin": self.vin, "stock": self.stock, "year": self.year,
            "make": self.make, "model": self.model, "trim": self.trim,
            "views": [v.isoformat() for v in self.views], "last_seen_at": _iso(self.last_seen_at),
            "total_views": self.total_views, "price_alerted_cents": self.price_alerted_cents,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VehicleTrack:
        """Inverse of to_dict."""
        return cls(
            key=str(d["key"]), vin=d.get("vin"), stock=d.get("stock"), year=d.get("year"),
            make=d.get("make"), model=d.get("model"), trim=d.get("trim"),
            views=tuple(sorted(_parse_dt(v, "views") for v in d.get("views", ()))),
            last_seen_at=_parse_dt(d.get("last_seen_at"), "last_seen_at"),
            total_views=int(d.get("total_views", 0)),
            price_alerted_cents=d.get("price_alerted_cents"),
        )


@dataclass(frozen=True)
class FormTrack:
    """The latest attempt at one form: when it was started, last touched and submitted."""

    key: str
    form_id: str | None = None
    form_type: str | None = None
    started_at: datetime | None = None
    last_activity_at: datetime | None = None
    submitted_at: datetime | None = None
    alerted_for: datetime | None = None
    vin: str | None = None
    stock: str | None = None
    vehicle_label: str | None = None
    model: str | None = None

    @property
    def pending(self) -> bool:
        """True while the latest engagement has no submission after it."""
        if self.last_activity_at is None:
            return False
        return self.submitted_at is None or self.submitted_at < self.last_activity_at

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable copy."""
        return {
            "key": self.key, "form_id": self.form_id, "form_type": self.form_type,
            "started_at": _iso(self.started_at), "last_activity_at": _iso(self.last_activity_at),
            "submitted_at": _iso(self.submitted_at), "alerted_for": _iso(self.alerted_for),
            "vin": self.vin, "stock": self.stock, "vehicle_label": self.vehicle_label, "model": self.model,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FormTrack:
        """Inverse of to_dict."""
        return cls(
            key=str(d["key"]), form_id=d.get("form_id"), form_type=d.get("form_type"),
            started_at=_parse_dt(d.get("started_at"), "started_at"),
            last_activity_at=_parse_dt(d.get("last_activity_at"), "last_activity_at"),
            submitted_at=_parse_dt(d.get("submitted_at"), "submitted_at"),
            alerted_for=_parse_dt(d.get("alerted_for"), "alerted_for"),
            vin=d.get("vin"), stock=d.get("stock"), vehicle_label=d.get("vehicle_label"), model=d.get("model"),
        )


@dataclass(frozen=True)
class CooldownMark:
    """When a signal about one subject last fired, and how loudly."""

    kind: str
    subject: str
    priority: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable copy."""
        return {"kind": self.kind, "subject": self.subject, "priority": self.priority, "at": self.at.isoformat()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CooldownMark:
        """Inverse of to_dict."""
        priority_rank(d["priority"])
        return cls(kind=str(d["kind"]), subject=str(d["subject"]), priority=d["priority"], at=_parse_dt(d["at"], "at"))


@dataclass(frozen=True)
class StandingReason:
    """A shopper-page sentence fragment that stays true until `until`."""

    kind: str
    subject: str
    text: str
    anchor: datetime
    style: str  # "since" for running counts, "on" for one-off moments
    at: datetime
    until: datetime

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable copy."""
        return {
            "kind": self.kind, "subject": self.subject, "text": self.text, "anchor": self.anchor.isoformat(),
            "style": self.style, "at": self.at.isoformat(), "until": self.until.isoformat(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StandingReason:
        """Inverse of to_dict."""
        return cls(
            kind=str(d["kind"]), subject=str(d["subject"]), text=str(d["text"]),
            anchor=_parse_dt(d["anchor"], "anchor"), style=str(d.get("style", "on")),
            at=_parse_dt(d["at"], "at"), until=_parse_dt(d["until"], "until"),
        )


def _cooldown_key(kind: str, subject: str) -> str:
    return f"{kind}\x1f{subject}"


@dataclass
class ShopperState:
    """Compact, bounded per-shopper memory; persist it with to_dict between events."""

    engagement: float = 0.0
    signal_points: float = 0.0
    last_score: float = 0.0
    updated_at: datetime | None = None
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None
    event_count: int = 0
    vehicles: dict[str, VehicleTrack] = field(default_factory=dict)
    forms: dict[str, FormTrack] = field(default_factory=dict)
    cooldowns: dict[str, CooldownMark] = field(default_factory=dict)
    reasons: list[StandingReason] = field(default_factory=list)

    VERSION = 1

    @classmethod
    def empty(cls) -> ShopperState:
        """State for a shopper never seen before."""
        return cls()

    def _clone(self) -> ShopperState:
        # Nested records are frozen, so copying the containers is enough to keep the
        # caller's state untouched while staying O(bounded state) per event.
        return replace(
            self, vehicles=dict(self.vehicles), forms=dict(self.forms),
            cooldowns=dict(self.cooldowns), reasons=list(self.reasons),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable copy."""
        return {
            "version": self.VERSION,
            "engagement": self.engagement,
            "signal_points": self.signal_points,
            "last_score": self.last_score,
            "updated_at": _iso(self.updated_at),
            "first_event_at": _iso(self.first_event_at),
            "last_event_at": _iso(self.last_event_at),
            "event_count": self.event_count,
            "vehicles": [v.to_dict() for v in self.vehicles.values()],
            "forms": [f.to_dict() for f in self.forms.values()],
            "cooldowns": [c.to_dict() for c in self.cooldowns.values()],
            "reasons": [r.to_dict() for r in self.reasons],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ShopperState:
        """Inverse of to_dict; None or {} gives an empty state."""
        if not data:
            return cls.empty()
        if not isinstance(data, Mapping):
            raise ValueError(f"shopper state must be a mapping, got {type(data).__name__}")
        version = data.get("version", cls.VERSION)
        if version != cls.VERSION:
            raise ValueError(f"unsupported shopper state version {version!r}; expected {cls.VERSION}")
        try:
            vehicles = [VehicleTrack.from_dict(v) for v in data.get("vehicles", ())]
            forms = [FormTrack.from_dict(f) for f in data.get("forms", ())]
            marks = [CooldownMark.from_dict(c) for c in data.get("cooldowns", ())]
            reasons = [StandingReason.from_dict(r) for r in data.get("reasons", ())]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"shopper state is malformed: {exc!r}") from None
        return cls(
            engagement=float(data.get("engagement", 0.0)),
            signal_points=float(data.get("signal_points", 0.0)),
            last_score=float(data.get("last_score", 0.0)),
            updated_at=_parse_dt(data.get("updated_at"), "updated_at"),
            first_event_at=_parse_dt(data.get("first_event_at"), "first_event_at"),
            last_event_at=_parse_dt(data.get("last_event_at"), "last_event_at"),
            event_count=int(data.get("event_count", 0)),
            vehicles={v.key: v for v in vehicles},
            forms={f.key: f for f in forms},
            cooldowns={_cooldown_key(c.kind, c.subject): c for c in marks},
            reasons=reasons,
        )


# --- outputs ------------------------------------------------------------------------

@dataclass(frozen=True)
class Signal:
    """A buying signal worth a salesperson's attention, with the why and the what-next."""

    kind: str
    priority: str
    reason: str
    suggested_next_step: str
    vehicle_vin: str | None = None
    vehicle_stock: str | None = None
    points: float = 0.0
    # Which form was abandoned: a service form belongs in the service lane, not on the sales floor.
    form_type: str | None = None

    @property
    def rank(self) -> int:
        """Numeric priority, 1 (low) to 4 (urgent)."""
        return priority_rank(self.priority)

    def outranks(self, other: Signal | str) -> bool:
        """True if this signal is strictly more urgent than another signal or priority."""
        other_priority = other.priority if isinstance(other, Signal) else other
        return self.rank > priority_rank(other_priority)


@dataclass(frozen=True)
class ScoreUpdate:
    """Result of folding one event (or one idle sweep) into a shopper's state."""

    state: ShopperState
    score: float
    fired: tuple[Signal, ...]
    trend: str
    level: str = "cold"


def alert_level(score: float, *, rules: ScoringRules = DEFAULT_RULES) -> str:
    """Map a score to 'hot', 'warm' or 'cold' using the rule thresholds."""
    if score >= rules.hot_score:
        return "hot"
    if score >= rules.warm_score:
        return "warm"
    return "cold"


# --- wording ------------------------------------------------------------------------

def _norm_vin(vin: Any) -> str:
    return str(vin).strip().upper()


def _norm(text: str | None) -> str:
    return (text or "").strip().casefold()


def _dollars(cents: int) -> str:
    return f"${(abs(cents) + 50) // 100:,}"


def _about_dollars(cents: int) -> str:
    # Estimates are fuzzy; round to $100 so the alert does not promise a firm number.
    if abs(cents) >= 100_000:
        return f"about ${(abs(cents) + 5_000) // 10_000 * 100:,}"
    return f"about {_dollars(cents)}"


def _plural(count: int | float, word: str) -> str:
    return f"{count:g} {word}" + ("" if count == 1 else "s")


def _hours_text(hours: float) -> str:
    return _plural(hours, "hour")


def _minutes_text(minutes: float) -> str:
    if minutes >= 120:
        return _plural(int(minutes // 60), "hour")
    return _plural(int(minutes), "minute")


def _label(year: Any, make: str | None, model: str | None, trim: str | None) -> str:
    return " ".join(str(part).strip() for part in (year, make, model, trim) if part not in (None, ""))


def _vehicle_phrase(label: str | None, stock: str | None, vin: str | None) -> str:
    if label:
        return f"the {label} (stock {stock})" if stock else f"the {label}"
    if stock:
        return f"the vehicle with stock {stock}"
    if vin:
        return f"the vehicle with VIN {vin}"
    return "a vehicle"


def _page_vehicle_phrase(label: str | None, stock: str | None, vin: str | None) -> str:
    if label and stock:
        return f"the {label}, stock {stock},"
    return _vehicle_phrase(label, stock, vin)


def _short(model: str | None) -> str:
    return f"the {model}" if model else "the vehicle"


def _track_label(track: VehicleTrack) -> str:
    return _label(track.year, track.make, track.model, track.trim)


def _when(moment: datetime, now: datetime, style: str) -> str:
    local = moment.astimezone(now.tzinfo)
    days = (now.date() - local.date()).days
    since = style == "since"
    if days <= 0:
        return "today"
    if days == 1:
        return "since yesterday" if since else "yesterday"
    if days < 7:
        name = _WEEKDAYS[local.weekday()]
    else:
        name = f"{_MONTHS[local.month - 1]} {local.day}"
    return f"since {name}" if since else f"on {name}"


# --- engine ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Candidate:
    kind: str
    priority: str
    subject: str
    reason: str
    next_step: str
    page_text: str
    anchor: datetime
    anchor_style: str = "on"
    vin: str | None = None
    stock: str | None = None
    page_subject: str | None = None
    form_type: str | None = None


def _decay(hours: float, rules: ScoringRules) -> float:
    return 0.5 ** (hours / rules.half_life_hours) if hours > 0 else 1.0


def _hours_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() / 3600.0


def _advance(work: ShopperState, now: datetime, rules: ScoringRules) -> datetime:
    # Never decay backwards: another worker may already have moved the state past
    # this worker's clock, and scores must not grow just because time "rewound".
    if work.updated_at is None:
        work.updated_at = now
        return now
    ref = max(now, work.updated_at)
    factor = _decay(_hours_between(work.updated_at, ref), rules)
    work.engagement *= factor
    work.signal_points *= factor
    work.updated_at = ref
    return ref


def _find_vehicle_key(vehicles: Mapping[str, VehicleTrack], vin: str | None, stock: str | None) -> str | None:
    if vin and vin in vehicles:
        return vin
    if stock:
        wanted = _norm(stock)
        for key, track in vehicles.items():
            if _norm(track.stock) == wanted and (not vin or not track.vin or track.vin == vin):
                return key
    return None


def _touch_vehicle(work: ShopperState, event: EventFact, *, viewed: bool) -> VehicleTrack | None:
    vin = _norm_vin(event.vin) if _opt_str(event.vin) else None
    stock = _opt_str(event.stock_number)
    if vin is None and stock is None:
        return None
    existing_key = _find_vehicle_key(work.vehicles, vin, stock)
    old = work.vehicles.pop(existing_key) if existing_key else VehicleTrack(key="")
    key = vin or old.vin or f"stock:{_norm(stock)}"
    views = old.views
    if viewed:
        views = tuple(sorted(views + (event.occurred_at,)))
    last_seen = event.occurred_at if old.last_seen_at is None else max(old.last_seen_at, event.occurred_at)
    track = VehicleTrack(
        key=key,
        vin=vin or old.vin,
        stock=stock or old.stock,
        year=event.year if event.year not in (None, "") else old.year,
        make=_opt_str(event.make) or old.make,
        model=_opt_str(event.model) or old.model,
        trim=_opt_str(event.trim) or old.trim,
        views=views,
        last_seen_at=last_seen,
        total_views=old.total_views + (1 if viewed else 0),
        price_alerted_cents=old.price_alerted_cents,
    )
    work.vehicles[key] = track
    return track


def _recent_vehicle(work: ShopperState, ref: datetime, rules: ScoringRules) -> VehicleTrack | None:
    cutoff = ref - timedelta(hours=rules.longest_window_hours)
    viewed = [t for t in work.vehicles.values() if t.views and t.views[-1] >= cutoff]
    return max(viewed, key=lambda t: t.views[-1]) if viewed else None


def _repeat_candidate(track: VehicleTrack, ref: datetime, rules: ScoringRules) -> _Candidate | None:
    cutoff = ref - timedelta(hours=rules.repeat_vdp_window_hours)
    recent = [v for v in track.views if v >= cutoff]
    count = len(recent)
    if count < rules.repeat_vdp_count:
        return None
    label = _track_label(track)
    short = _short(track.model)
    if count >= 2 * rules.repeat_vdp_count:
        priority = "urgent"
        next_step = f"Call right away: they keep coming back to {short}; offer to hold it for a test drive today"
    else:
        priority = "high"
        next_step = f"Call now: ask if they want to see {short} today"
    return _Candidate(
        kind=REPEAT_VDP, priority=priority, subject=track.key,
        reason=f"Viewed {_vehicle_phrase(label, track.stock, track.vin)} {count} times "
        f"in the last {_hours_text(rules.repeat_vdp_window_hours)}",
        next_step=next_step,
        page_text=f"viewed {_page_vehicle_phrase(label, track.stock, track.vin)} {count} times",
        anchor=recent[0], anchor_style="since", vin=track.vin, stock=track.stock,
    )


def _same_model_candidate(
    work: ShopperState, track: VehicleTrack, ref: datetime, rules: ScoringRules
) -> _Candidate | None:
    if not track.make or not track.model:
        return None
    make, model = _norm(track.make), _norm(track.model)
    cutoff = ref - timedelta(hours=rules.same_model_window_hours)
    matches = [
        t for t in work.vehicles.values()
        if _norm(t.make) == make and _norm(t.model) == model and t.views and t.views[-1] >= cutoff
    ]
    count = len(matches)
    if count < rules.same_model_vehicle_count:
        return None
    matches.sort(key=lambda t: t.views[-1], reverse=True)
    stocks = [t.stock for t in matches if t.stock][:4]
    stock_note = f" (stock {', '.join(stocks)})" if stocks else ""
    name = f"{track.make} {track.model}"
    first_view = min(v for t in matches for v in t.views if v >= cutoff)
    return _Candidate(
        kind=SAME_MODEL,
        priority="high" if count >= 2 * rules.same_model_vehicle_count else "medium",
        subject=f"{make}|{model}",
        reason=f"Looked at {count} different {name} listings{stock_note} "
        f"in the last {_hours_text(rules.same_model_window_hours)}",
        next_step=f"Send a side-by-side of the {name} listings they viewed and ask which trim and color fit best",
        page_text=f"compared {count} {name} listings",
        anchor=first_view, anchor_style="since", vin=track.vin, stock=track.stock,
    )


def _trade_candidate(work: ShopperState, event: EventFact, ref: datetime, rules: ScoringRules) -> _Candidate:
    props = event.properties
    trade = _label(props.get("trade_year"), _opt_str(props.get("trade_make")), _opt_str(props.get("trade_model")), None)
    value = props.get("trade_value_cents")
    value = value if _is_number(value) and value > 0 else None
    details = ", ".join(part for part in (trade, _about_dollars(int(value)) if value else "") if part)
    reason = "Finished the trade-in calculator" + (f": {details}" if details else "")
    wanted = _recent_vehicle(work, ref, rules)
    toward = f" toward {_short(wanted.model)}" if wanted is not None and wanted.model else ""
    what = f"the {trade}" if trade else "their trade"
    return _Candidate(
        kind=TRADE_IN, priority="high", subject=f"trade:{_norm(trade)}",
        reason=reason,
        next_step=f"Call today: offer a firm in-person appraisal on {what}{toward}",
        page_text="finished the trade-in calculator" + (f" ({details})" if details else ""),
        anchor=event.occurred_at,
        vin=wanted.vin if wanted else None, stock=wanted.stock if wanted else None,
    )


def _payment_candidate(event: EventFact, track: VehicleTrack | None) -> _Candidate:
    props = event.properties
    vehicle = _vehicle_phrase(_track_label(track), track.stock, track.vin) if track else None
    monthly, term = props.get("monthly_payment_cents"), props.get("term_months")
    quote = ""
    if _is_number(monthly) and monthly > 0:
        quote = f": about {_dollars(int(monthly))}/month"
        if _is_number(term) and term > 0:
            quote += f" for {int(term)} months"
    reason = "Used the payment calculator" + (f" on {vehicle}" if vehicle else "") + quote
    short = _short(track.model) if track else "the vehicle they like"
    return _Candidate(
        kind=PAYMENT, priority="medium", subject=track.key if track else "any",
        reason=reason,
        next_step=f"Send a payment quote on {short} and ask about their down payment and trade",
        page_text="used the payment calculator" + (f" on {vehicle}" if vehicle else "") + quote,
        anchor=event.occurred_at, vin=track.vin if track else None, stock=track.stock if track else None,
    )


def _price_alert_candidate(event: EventFact, track: VehicleTrack | None) -> _Candidate:
    vehicle = _vehicle_phrase(_track_label(track), track.stock, track.vin) if track else None
    short = _short(track.model) if track else "the vehicle"
    return _Candidate(
        kind=PRICE_ALERT, priority="high", subject=track.key if track else "any",
        reason="Clicked a price-drop alert" + (f" for {vehicle}" if vehicle else ""),
        next_step=f"Call now: the lower price brought them back; offer to hold {short} for a test drive",
        page_text="clicked a price-drop alert" + (f" for {vehicle}" if vehicle else ""),
        anchor=event.occurred_at, vin=track.vin if track else None, stock=track.stock if track else None,
    )


def _credit_candidate(event: EventFact, track: VehicleTrack | None) -> _Candidate:
    vehicle = _vehicle_phrase(_track_label(track), track.stock, track.vin) if track else None
    return _Candidate(
        kind=CREDIT, priority="urgent", subject="credit",
        reason="Started a credit application" + (f" for {vehicle}" if vehicle else ""),
        next_step="Call within 15 minutes: offer help finishing the credit application",
        page_text="started a credit application" + (f" for {vehicle}" if vehicle else ""),
        anchor=event.occurred_at, vin=track.vin if track else None, stock=track.stock if track else None,
    )


def _returned_candidate(event: EventFact, gap: timedelta, track: VehicleTrack | None) -> _Candidate:
    days = int(gap.total_seconds() // 86400)
    looking = ""
    if track is not None and event.kind == VDP_VIEW:
        looking = f" and is looking at {_vehicle_phrase(_track_label(track), track.stock, track.vin)}"
    return _Candidate(
        kind=RETURNED, priority="medium", subject="return",
        reason=f"Came back after {_plural(days, 'day')} of silence{looking}",
        next_step="Reach out today: welcome them back and ask what they are shopping for now",
        page_text=f"came back after {_plural(days, 'day')} of silence",
        anchor=event.occurred_at,
        vin=track.vin if looking else None, stock=track.stock if looking else None,
    )


def _equity_candidate(event: EventFact, track: VehicleTrack | None, context: ShopperContext) -> _Candidate | None:
    if not (context.is_service_customer and context.has_positive_equity):
        return None
    if context.equity_cents is not None and context.equity_cents <= 0:
        return None
    amount = f"{_about_dollars(context.equity_cents)} in positive equity" if context.equity_cents else "positive equity"
    looking = ""
    if track is not None and event.kind == VDP_VIEW:
        looking = f" (looking at {_vehicle_phrase(_track_label(track), track.stock, track.vin)})"
    return _Candidate(
        kind=EQUITY,
        # Zeroing in on one vehicle is a stronger sign than scrolling results.
        priority="high" if looking else "medium",
        subject="equity",
        reason=f"Service customer with {amount} is browsing inventory{looking}",
        next_step="Offer an equity review: they may be able to upgrade with little change to their payment",
        page_text=f"service customer with {amount} browsing inventory",
        anchor=event.occurred_at,
        vin=track.vin if looking else None, stock=track.stock if looking else None,
    )


def _price_drop_candidates(work: ShopperState, context: ShopperContext, ref: datetime) -> list[_Candidate]:
    if not context.price_drops:
        return []
    found = []
    for key, track in list(work.vehicles.items()):
        if not track.vin or track.vin not in context.price_drops:
            continue
        old, new = context.price_drops[track.vin]
        if new <= 0 or new >= old or track.price_alerted_cents == new:
            continue
        # Remember the drop even if the quiet period swallows it, so it is announced once.
        work.vehicles[key] = replace(track, price_alerted_cents=new)
        label = _track_label(track)
        views = f" {_plural(track.total_views, 'time')}" if track.total_views > 1 else ""
        drop = old - new
        found.append(_Candidate(
            kind=PRICE_DROP,
            priority="high" if track.total_views >= 2 or drop >= old * 0.05 else "medium",
            subject=f"{track.vin}:{new}", page_subject=track.vin,
            reason=f"Price dropped {_dollars(drop)} (from {_dollars(old)} to {_dollars(new)}) on "
            f"{_vehicle_phrase(label, track.stock, track.vin)} they viewed{views}",
            next_step=f"Call or text now: let them know {_short(track.model)} just dropped to {_dollars(new)}",
            page_text=f"price dropped to {_dollars(new)} on {_vehicle_phrase(label, track.stock, track.vin)} they viewed",
            anchor=ref, vin=track.vin, stock=track.stock,
        ))
    return found


def _form_key(form_id: str | None, form_type: str | None) -> str:
    if form_id:
        return f"id:{form_id}"
    if form_type:
        return f"type:{_norm(form_type)}"
    return "form"


def _record_form_engagement(work: ShopperState, event: EventFact, track: VehicleTrack | None) -> None:
    form_id = _opt_str(event.properties.get("form_id"))
    form_type = _opt_str(event.form_type) or _opt_str(event.properties.get("form_type"))
    key = _form_key(form_id, form_type)
    old = work.forms.get(key) or FormTrack(key=key)
    at = event.occurred_at
    if old.pending:
        started = min(old.started_at or at, at)
    elif old.submitted_at is not None and at <= old.submitted_at:
        # A late engagement from an attempt that was already submitted.
        started = old.started_at or at
    else:
        started = at
    last = at if old.last_activity_at is None else max(old.last_activity_at, at)
    work.forms[key] = replace(
        old, form_id=form_id or old.form_id, form_type=form_type or old.form_type,
        started_at=started, last_activity_at=last,
        vin=track.vin if track else old.vin, stock=track.stock if track else old.stock,
        vehicle_label=_track_label(track) if track else old.vehicle_label,
        model=track.model if track else old.model,
    )


def _record_form_submission(work: ShopperState, event: EventFact) -> None:
    form_id = _opt_str(event.properties.get("form_id"))
    form_type = _opt_str(event.form_type) or _opt_str(event.properties.get("form_type"))
    at = event.occurred_at
    if form_id and _form_key(form_id, None) in work.forms:
        keys = [_form_key(form_id, None)]
    elif form_type:
        keys = [k for k, f in work.forms.items() if _norm(f.form_type) == _norm(form_type) and (
            not form_id or not f.form_id or f.form_id == form_id)]
    elif form_id:
        keys = []
    else:
        # An anonymous submission most likely completed whatever they were filling in;
        # a false "abandoned" alert costs more trust than a missed one.
        keys = list(work.forms)
    if not keys:
        # Remember the submission so an engagement arriving late does not look abandoned.
        keys = [_form_key(form_id, form_type)]
        work.forms.setdefault(keys[0], FormTrack(key=keys[0], form_id=form_id, form_type=form_type))
    for key in keys:
        form = work.forms[key]
        submitted = at if form.submitted_at is None else max(form.submitted_at, at)
        work.forms[key] = replace(form, submitted_at=submitted)


def _abandoned_candidates(work: ShopperState, ref: datetime, rules: ScoringRules) -> list[_Candidate]:
    found = []
    for key, form in list(work.forms.items()):
        if not form.pending or form.alerted_for == form.last_activity_at:
            continue
        idle_minutes = (ref - form.last_activity_at).total_seconds() / 60.0
        if idle_minutes <= rules.form_abandon_minutes or idle_minutes > rules.form_abandon_max_hours * 60:
            continue
        work.forms[key] = replace(form, alerted_for=form.last_activity_at)
        started = form.started_at or form.last_activity_at
        which = f"the {form.form_type.replace('_', ' ')} form" if form.form_type else "a form"
        about = f" about {_vehicle_phrase(form.vehicle_label, form.stock, form.vin)}" if (
            form.vehicle_label or form.stock or form.vin) else ""
        ago = _minutes_text((ref - started).total_seconds() / 60.0)
        is_credit = any(word in _norm(form.form_type) for word in ("credit", "financ"))
        found.append(_Candidate(
            kind=FORM_ABANDONED, priority="urgent" if is_credit else "high", subject=key,
            reason=f"Started {which}{about} {ago} ago and never submitted it",
            next_step="Follow up now: ask if they had a question the form did not answer"
            + (f" about {_short(form.model)}" if form.model else ""),
            page_text=f"started {which}{about} and never submitted it",
            anchor=started, vin=form.vin, stock=form.stock, form_type=form.form_type,
        ))
    return found


def _upsert_reason(work: ShopperState, c: _Candidate, ref: datetime, rules: ScoringRules) -> None:
    subject = c.page_subject or c.subject
    work.reasons = [r for r in work.reasons if not (r.kind == c.kind and r.subject == subject)]
    work.reasons.insert(0, StandingReason(
        kind=c.kind, subject=subject, text=c.page_text, anchor=c.anchor, style=c.anchor_style,
        at=ref, until=ref + timedelta(hours=rules.reason_ttl_hours),
    ))


def _gate(work: ShopperState, candidates: list[_Candidate], ref: datetime, rules: ScoringRules) -> tuple[Signal, ...]:
    fired = []
    for c in candidates:
        key = _cooldown_key(c.kind, c.subject)
        mark = work.cooldowns.get(key)
        quiet_for = timedelta(minutes=rules.cooldown_minutes.get(c.kind, 0))
        # Keep the shopper page current (e.g. the view count) even when the alert stays quiet.
        _upsert_reason(work, c, ref, rules)
        if mark is not None and ref - mark.at < quiet_for and priority_rank(c.priority) <= priority_rank(mark.priority):
            continue
        points = float(rules.signal_weights.get(c.kind, 0))
        work.signal_points += points
        work.cooldowns[key] = CooldownMark(kind=c.kind, subject=c.subject, priority=c.priority, at=ref)
        fired.append(Signal(
            kind=c.kind, priority=c.priority, reason=c.reason, suggested_next_step=c.next_step,
            vehicle_vin=c.vin, vehicle_stock=c.stock, points=points, form_type=c.form_type,
        ))
    fired.sort(key=lambda s: -s.rank)
    return tuple(fired)


def _keep_newest(items: dict, limit: int, when) -> dict:
    if len(items) <= limit:
        return items
    newest = sorted(items.items(), key=lambda kv: when(kv[1]), reverse=True)[:limit]
    return dict(newest)


def _prune(work: ShopperState, ref: datetime, rules: ScoringRules) -> None:
    horizon = ref - timedelta(hours=rules.longest_window_hours)
    cap = rules.view_cap
    for key, track in list(work.vehicles.items()):
        views = tuple(v for v in track.views if v >= horizon)[-cap:]
        if views != track.views:
            work.vehicles[key] = replace(track, views=views)
    work.vehicles = _keep_newest(work.vehicles, rules.max_tracked_vehicles, lambda t: t.last_seen_at)

    form_horizon = ref - timedelta(hours=rules.form_abandon_max_hours)

    def form_time(f: FormTrack) -> datetime:
        return max(t for t in (f.last_activity_at, f.submitted_at, f.started_at) if t is not None)

    work.forms = {k: f for k, f in work.forms.items() if form_time(f) >= form_horizon}
    work.forms = _keep_newest(work.forms, rules.max_tracked_forms, form_time)

    work.cooldowns = {
        k: m for k, m in work.cooldowns.items()
        if ref - m.at < timedelta(minutes=rules.cooldown_minutes.get(m.kind, 0))
    }
    work.cooldowns = _keep_newest(work.cooldowns, rules.max_cooldown_marks, lambda m: m.at)

    work.reasons = sorted((r for r in work.reasons if r.until > ref), key=lambda r: r.at, reverse=True)
    del work.reasons[rules.max_standing_reasons:]

    # Denormals from long decay bloat JSON and mean nothing to a salesperson.
    if work.engagement < 1e-6:
        work.engagement = 0.0
    if work.signal_points < 1e-6:
        work.signal_points = 0.0


def _trend(previous: float, score: float, had_history: bool) -> str:
    if not had_history:
        return "rising" if score > 0 else "steady"
    band = max(1.0, 0.05 * previous)
    if score - previous > band:
        return "rising"
    if previous - score > band:
        return "cooling"
    return "steady"


def _finish(
    work: ShopperState, original: ShopperState, fired: tuple[Signal, ...], rules: ScoringRules
) -> ScoreUpdate:
    score = round(work.engagement + work.signal_points, 1)
    trend = _trend(original.last_score, score, original.updated_at is not None)
    work.last_score = score
    return ScoreUpdate(state=work, score=score, fired=fired, trend=trend, level=alert_level(score, rules=rules))


def apply_event(
    state: ShopperState,
    event: EventFact,
    *,
    rules: ScoringRules | None = None,
    context: ShopperContext | None = None,
    now: datetime,
) -> ScoreUpdate:
    """Fold one event into a copy of the shopper's state and report any signals it fires."""
    rules = rules or DEFAULT_RULES
    context = context or EMPTY_CONTEXT
    _aware(now, "now")
    work = state._clone()
    ref = _advance(work, now, rules)

    # Decaying each event from when it happened (not when it arrived) makes the
    # engagement total independent of arrival order.
    age = _hours_between(event.occurred_at, ref)
    work.engagement += rules.event_weight(event.kind) * _decay(age, rules)

    candidates: list[_Candidate] = []
    gap = event.occurred_at - work.last_event_at if work.last_event_at is not None else None
    returned = gap is not None and gap >= timedelta(days=rules.return_after_days)
    if returned:
        # A return after silence starts a new episode; last month's quiet periods no longer apply.
        work.cooldowns = {}
    work.last_event_at = event.occurred_at if work.last_event_at is None else max(work.last_event_at, event.occurred_at)
    work.first_event_at = event.occurred_at if work.first_event_at is None else min(work.first_event_at, event.occurred_at)
    work.event_count += 1

    track = _touch_vehicle(work, event, viewed=event.kind == VDP_VIEW)
    if returned:
        candidates.append(_returned_candidate(event, gap, track))

    if event.kind == VDP_VIEW and track is not None:
        for candidate in (_repeat_candidate(track, ref, rules), _same_model_candidate(work, track, ref, rules)):
            if candidate is not None:
                candidates.append(candidate)
    if event.kind in _BROWSING_KINDS:
        equity = _equity_candidate(event, track, context)
        if equity is not None:
            candidates.append(equity)
    if event.kind == TRADE_CALC:
        candidates.append(_trade_candidate(work, event, ref, rules))
    elif event.kind == PAYMENT_CALC:
        candidates.append(_payment_candidate(event, track))
    elif event.kind == PRICE_ALERT_CLICKED:
        candidates.append(_price_alert_candidate(event, track))
    elif event.kind == CREDIT_APP:
        candidates.append(_credit_candidate(event, track))
    elif event.kind == FORM_ENGAGEMENT:
        _record_form_engagement(work, event, track)
    elif event.kind == FORM_SUBMISSION:
        _record_form_submission(work, event)

    candidates.extend(_price_drop_candidates(work, context, ref))
    fired = _gate(work, candidates, ref, rules)
    _prune(work, ref, rules)
    return _finish(work, state, fired, rules)


def check_idle(
    state: ShopperState,
    *,
    rules: ScoringRules | None = None,
    context: ShopperContext | None = None,
    now: datetime,
) -> ScoreUpdate:
    """Periodic sweep: fire signals that need time to pass (abandoned forms) or outside facts (price drops)."""
    rules = rules or DEFAULT_RULES
    context = context or EMPTY_CONTEXT
    _aware(now, "now")
    work = state._clone()
    ref = _advance(work, now, rules)
    candidates = _abandoned_candidates(work, ref, rules) + _price_drop_candidates(work, context, ref)
    fired = _gate(work, candidates, ref, rules)
    _prune(work, ref, rules)
    return _finish(work, state, fired, rules)


def current_score(state: ShopperState, *, rules: ScoringRules | None = None, now: datetime) -> float:
    """Score for display, decayed to now without changing the state."""
    rules = rules or DEFAULT_RULES
    _aware(now, "now")
    if state.updated_at is None:
        return 0.0
    factor = _decay(_hours_between(state.updated_at, max(now, state.updated_at)), rules)
    return round((state.engagement + state.signal_points) * factor, 1)


def describe_reasons(state: ShopperState, *, now: datetime, limit: int = 5) -> list[str]:
    """Plain-language reasons still standing for the shopper page, newest first."""
    _aware(now, "now")
    standing = sorted((r for r in state.reasons if r.until > now), key=lambda r: r.at, reverse=True)
    return [f"{r.text} {_when(r.anchor, now, r.style)}" for r in standing[: max(0, limit)]]
