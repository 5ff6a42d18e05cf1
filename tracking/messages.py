"""Segment HTTP Tracking API messages: validate and normalize. Pure: no database, `received_at` passed in.

The same shapes arrive from Segment's and RudderStack's clients and from our own track.js; RudderStack puts
identify traits under `context.traits`, and either may send `originalTimestamp` instead of `timestamp`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

MESSAGE_TYPES = frozenset({"track", "page", "screen", "identify", "alias", "group"})
MAX_EVENT_BYTES = 32 * 1024  # Segment's limits
MAX_BATCH_BYTES = 500 * 1024
# A client clock may be wrong (or hostile: the write key is public). A time, once corrected for the device's
# clock skew, further from the receipt than this window is not believed: the event is stored at its received
# time and what the sender said is kept in context["crm_clock"]. Refusing it instead would drop the whole
# batch for one bad clock. The past bound is the event retention: an older event would not be kept anyway.
MAX_FUTURE = timedelta(hours=1)
MAX_PAST = timedelta(days=400)
CLOCK_NOTE = "crm_clock"
VIN_PROPERTIES = ("item_id", "vin", "item_vin", "vehicle_vin")


class MessageError(ValueError):
    """One message cannot be stored; `reason` is what the sender is told."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class MessageTooLarge(MessageError):
    """Past Segment's per-event limit: the sender is told 413, not 400."""


@dataclass(frozen=True)
class Message:
    type: str
    event: str
    anonymous_id: str
    user_id: str
    previous_id: str
    message_id: str
    occurred_at: datetime
    sent_at: datetime | None
    vin: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    traits: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)
    # The three objects as the JSON text stored, when normalize already encoded them (None: encode at store).
    encoded: tuple[str, str, str] | None = field(default=None, compare=False, repr=False)

    @property
    def visitor_key(self) -> str:
        """The browser this came from: its anonymous id, else the site's own user id."""
        return self.anonymous_id or f"user:{self.user_id}"


def parse_time(value: Any, what: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise MessageError(f"{what} must be an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MessageError(f"{what} is not an ISO-8601 date-time: {value[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _text(raw: Mapping[str, Any], key: str, limit: int) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise MessageError(f"{key} must be a string")
    if len(value) > limit:
        raise MessageError(f"{key} is longer than {limit} characters")
    return value


def _object(raw: Mapping[str, Any], key: str) -> dict:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MessageError(f"{key} must be a JSON object")
    return value


def normalize(raw: Any, *, received_at: datetime, batch_sent_at: datetime | None = None,
              default_type: str | None = None) -> Message:
    """One Segment message → Message, or MessageError with a reason."""
    if not isinstance(raw, dict):
        raise MessageError("each message must be a JSON object")
    kind = raw.get("type", default_type)
    if kind not in MESSAGE_TYPES:
        raise MessageError(f"type must be one of {', '.join(sorted(MESSAGE_TYPES))}; got {str(kind)[:20]!r}")
    anonymous_id = _text(raw, "anonymousId", 100)
    user_id = _text(raw, "userId", 100)
    previous_id = _text(raw, "previousId", 100)
    if not anonymous_id and not user_id:
        raise MessageError("anonymousId or userId is required")
    if kind == "alias" and not previous_id:
        raise MessageError("alias needs previousId")
    event = _text(raw, "event", 200) if kind == "track" else _text(raw, "name", 200)
    if kind == "track" and not event:
        raise MessageError("track needs an event name")
    properties = _object(raw, "properties")
    context = _object(raw, "context")
    traits = _object(raw, "traits") or (context.get("traits") if isinstance(context.get("traits"), dict) else {})
    # Each object is encoded once: the texts are what the store writes, and their sizes make the message's.
    texts = {key: _encode_text(raw[key]) for key in _STORED_OBJECTS if key in raw}
    size = _encoded_size(raw, texts)
    if size > MAX_EVENT_BYTES:
        raise MessageTooLarge(f"message is larger than {MAX_EVENT_BYTES // 1024} KB")
    message_id = _text(raw, "messageId", 100)
    if not message_id:
        message_id = "auto-" + hashlib.sha256(_encode(raw)).hexdigest()[:40]

    raw_timestamp = raw.get("timestamp") or raw.get("originalTimestamp")
    timestamp = parse_time(raw_timestamp, "timestamp")
    sent_at = parse_time(raw.get("sentAt"), "sentAt") or batch_sent_at
    doubts: list[str] = []
    if sent_at is not None and not believable(sent_at, received_at=received_at):
        doubts.append("sentAt")
        sent_at = None  # no skew correction from a clock that far off
    occurred_at = correct_clock_skew(timestamp=timestamp, sent_at=sent_at, received_at=received_at)
    if occurred_at is None:
        doubts.append("timestamp")
        occurred_at = received_at
    if doubts:
        context = {**context, CLOCK_NOTE: {
            "timestamp": raw_timestamp if isinstance(raw_timestamp, str) else None,
            "sentAt": raw.get("sentAt") if isinstance(raw.get("sentAt"), str) else None,
            "reason": f"{' and '.join(doubts)} not believed: further than {MAX_PAST.days} days before or "
                      f"{int(MAX_FUTURE.total_seconds() // 3600)} hour after receipt; stored at the received time",
        }}

    vin = ""
    for key in VIN_PROPERTIES:
        candidate = properties.get(key)
        if isinstance(candidate, str) and len(candidate.strip()) == 17:
            vin = candidate.strip().upper()
            break
    return Message(
        type=kind, event=event, anonymous_id=anonymous_id, user_id=user_id, previous_id=previous_id,
        message_id=message_id, occurred_at=occurred_at, sent_at=sent_at, vin=vin, properties=properties,
        traits=traits, context=context,
        encoded=(_stored_text(properties, raw, "properties", texts), _stored_text(traits, raw, "traits", texts),
                 _stored_text(context, raw, "context", texts)),
    )


_STORED_OBJECTS = ("properties", "traits", "context")


def _stored_text(value: dict, raw: dict, key: str, texts: dict[str, tuple[str, int]]) -> str:
    # Usually the sender's own object, already encoded; a context with a clock note or traits read from
    # context.traits are encoded here.
    if raw.get(key) is value and key in texts:
        return texts[key][0]
    return _encode_text(value)[0] if value else "{}"


def _encoded_size(raw: dict, texts: dict[str, tuple[str, int]]) -> int:
    """len(_encode(raw)), from the objects' encoded sizes and the rest of the message encoded alone."""
    rest = {k: v for k, v in raw.items() if k not in texts}
    size = _encode_text(rest)[1]  # "{...}" with the other members
    for n, key in enumerate(texts):
        # ,"key":<text> — a comma before each member but the very first
        size += len(key) + 3 + texts[key][1] + (1 if rest or n else 0)
    return size


# One encoder: json.dumps with these options builds a new JSONEncoder on every call (four a message).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _encode(raw: dict) -> bytes:
    """The message as compact UTF-8 JSON, refusing what PostgreSQL cannot store (jsonb and text columns)."""
    return _encode_text(raw)[0].encode("utf-8")


def _encode_text(raw: Any) -> tuple[str, int]:
    """Compact JSON text and its size in UTF-8 bytes, refusing what PostgreSQL cannot store (jsonb, text)."""
    try:
        text = _ENCODER.encode(raw)
    except ValueError:  # NaN or Infinity: JSON has no such numbers and jsonb refuses them
        raise MessageError("numbers must be finite (no NaN or Infinity)") from None
    except RecursionError:
        raise MessageError("message is nested too deeply") from None
    if "\\u0000" in text:
        raise MessageError("message contains a NUL character (\\u0000), which cannot be stored")
    try:
        size = len(text) if text.isascii() else len(text.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate, e.g. from the JSON escape \ud800
        raise MessageError("message contains text that is not valid Unicode") from None
    return text, size


def believable(value: datetime, *, received_at: datetime) -> bool:
    """Within the window around receipt (comparison of aware datetimes cannot overflow)."""
    try:
        return received_at - MAX_PAST <= value <= received_at + MAX_FUTURE
    except OverflowError:
        return False


def correct_clock_skew(*, timestamp: datetime | None, sent_at: datetime | None,
                       received_at: datetime) -> datetime | None:
    """Segment's rule: the device clock is off by (sentAt - receivedAt), so timestamp is shifted by it.

    None when the corrected time is outside the believable window (or outside Python's datetime range).
    """
    if timestamp is None:
        return received_at
    try:
        corrected = timestamp if sent_at is None else received_at - sent_at + timestamp
    except OverflowError:
        return None
    return corrected if believable(corrected, received_at=received_at) else None
