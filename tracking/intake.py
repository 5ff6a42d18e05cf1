"""The collector's request handling, as pure functions: body decoding, write key, batch → messages.

Nothing here touches the database or the clock (`received_at` is passed in), so every refusal the
collector can give is tested without a server. Each refusal is an `IntakeError` carrying the HTTP status,
a short code and a reason the sender can act on; Segment's and RudderStack's clients read `code` and
`message` from an error body, so the view answers with those keys.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crm.json_input import JsonRefused, loads_bounded
from tracking.messages import (
    MAX_BATCH_BYTES, MESSAGE_TYPES, Message, MessageError, MessageTooLarge, normalize, parse_time,
)

# A compressed body is never much larger than the JSON it holds; past this it cannot fit once decompressed.
MAX_ENCODED_BYTES = MAX_BATCH_BYTES + 64 * 1024
# How many per-message reasons one 400 lists: enough to fix a client, bounded for a hostile one.
MAX_REPORTED_ERRORS = 20
JSON_TYPES = frozenset({"application/json", "text/plain", ""})
# The path says what one message is; /v1/batch carries a list of them.
PATH_TYPES = frozenset({"batch", "track", "page", "screen", "identify", "alias", "group"})


@dataclass(frozen=True)
class IndexedReason:
    index: int
    reason: str


@dataclass
class IntakeError(Exception):
    """The whole request is refused: nothing from it is stored."""

    status: int
    code: str
    reason: str
    errors: list[IndexedReason] = field(default_factory=list)

    def __str__(self) -> str:
        return self.reason

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"success": False, "code": self.code, "message": self.reason}
        if self.errors:
            body["errors"] = [{"index": e.index, "reason": e.reason} for e in self.errors]
        return body


def too_large(what: str) -> IntakeError:
    return IntakeError(413, "too_large", what)


def decode_body(raw: bytes, *, content_encoding: str, limit: int = MAX_BATCH_BYTES) -> bytes:
    """The request body as JSON bytes, decompressed with a bound so a small gzip bomb cannot fill memory."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        if len(raw) > limit:
            raise too_large(f"request body is larger than {limit // 1024} KB")
        return raw
    if encoding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise IntakeError(415, "unsupported_encoding", f"Content-Encoding {encoding[:30]!r} is not supported; use gzip")
    if len(raw) > MAX_ENCODED_BYTES:
        raise too_large(f"request body is larger than {limit // 1024} KB")
    out = bytearray()
    data = raw
    try:
        while data:
            decoder = zlib.decompressobj(wbits=wbits)
            # max_length stops the decoder one byte past the limit, whatever the compression ratio.
            out += decoder.decompress(data, limit + 1 - len(out))
            if len(out) > limit or decoder.unconsumed_tail:
                raise too_large(f"decompressed body is larger than {limit // 1024} KB")
            if not decoder.eof:
                raise IntakeError(400, "invalid_encoding", f"the {encoding} body is truncated")
            data = decoder.unused_data  # gzip allows several members one after the other
    except zlib.error as exc:
        raise IntakeError(400, "invalid_encoding", f"the body is not valid {encoding}: {exc}") from None
    return bytes(out)


def check_content_type(content_type: str) -> None:
    # track.js sends text/plain on purpose (a CORS "simple" request: no preflight); servers send JSON.
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in JSON_TYPES and not media.endswith("+json"):
        raise IntakeError(415, "unsupported_media_type",
                          f"Content-Type {media[:60]!r} is not supported; send application/json or text/plain")


def write_key_from_authorization(header: str) -> str:
    """Segment's HTTP Basic: the write key is the user name and the password is empty."""
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "basic" or not credentials:
        return ""
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""
    user, _, password = decoded.partition(":")
    # Some proxies put the key in the password slot; take whichever is filled.
    return (user or password).strip()


def parse_json(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise IntakeError(400, "invalid_json", "the request body is empty")
    try:
        # As json.loads(bytes) reads: UTF-8 (a BOM allowed), -16 or -32; lone surrogates refused per message.
        text = body.decode(json.detect_encoding(body), "surrogatepass")
    except UnicodeDecodeError:
        raise IntakeError(400, "invalid_json", "the body is not UTF-8 text") from None
    try:
        # The same reader as the staff API: bounded nesting, finite numbers. A NUL is refused per message
        # (tracking.messages) so the sender learns which one, and nothing of the batch is stored either way.
        payload = loads_bounded(text, refuse_nul=False)
    except JsonRefused as exc:
        raise IntakeError(400, "invalid_json", exc.reason) from None
    if not isinstance(payload, dict):
        raise IntakeError(400, "invalid_json", "the body must be a JSON object")
    return payload


def write_key_from_body(payload: Mapping[str, Any]) -> str:
    key = payload.get("writeKey")
    return key.strip() if isinstance(key, str) else ""


def messages_from(payload: Mapping[str, Any], *, path_type: str, received_at: datetime) -> list[Message]:
    """Every message of the request, or IntakeError listing each bad one by index (400; 413 if too large)."""
    if path_type not in PATH_TYPES:
        raise IntakeError(404, "not_found", f"unknown endpoint /v1/{path_type[:20]}")
    try:
        batch_sent_at = parse_time(payload.get("sentAt"), "sentAt")
    except MessageError as exc:
        raise IntakeError(400, "invalid_message", exc.reason) from None
    if path_type == "batch":
        raw_messages = payload.get("batch")
        if not isinstance(raw_messages, list):
            raise IntakeError(400, "invalid_batch", "batch must be a JSON array of messages")
        shared_context = payload.get("context")
        shared_context = shared_context if isinstance(shared_context, dict) else {}
    else:
        raw_messages = [{**payload, "type": path_type}]
        shared_context = {}

    messages: list[Message] = []
    errors: list[IndexedReason] = []
    oversized = False
    for index, raw in enumerate(raw_messages):
        if shared_context and isinstance(raw, dict):
            # Segment's batch-level context applies to every message; a message's own keys win.
            own = raw.get("context")
            raw = {**raw, "context": {**shared_context, **own} if isinstance(own, dict) else shared_context}
        try:
            kind = raw.get("type") if isinstance(raw, dict) else None
            # Any JSON may stand where the type should be (a list or object is unhashable: not a set lookup).
            if path_type == "batch" and not (isinstance(kind, str) and kind in MESSAGE_TYPES):
                raise MessageError(f"type must be one of {', '.join(sorted(MESSAGE_TYPES))}; got {str(kind)[:20]!r}")
            messages.append(normalize(raw, received_at=received_at, batch_sent_at=batch_sent_at))
        except MessageTooLarge as exc:
            oversized = True
            errors.append(IndexedReason(index, exc.reason))
        except MessageError as exc:
            errors.append(IndexedReason(index, exc.reason))
    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        first = shown[0]
        where = f"message {first.index}" if path_type == "batch" else "the message"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        status, code = (413, "too_large") if oversized else (400, "invalid_message")
        raise IntakeError(status, code, f"{where}: {first.reason}{more}; nothing was stored", shown)
    return messages
