"""The collector's request parsing, without a server or a database."""

import base64
import gzip
import zlib
from datetime import datetime, timezone

import pytest

from tracking.intake import (
    IntakeError, check_content_type, decode_body, messages_from, parse_json, write_key_from_authorization,
)

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("header, key", [
    ("Basic " + base64.b64encode(b"wk_abc:").decode(), "wk_abc"),
    ("basic " + base64.b64encode(b":wk_abc").decode(), "wk_abc"),
    ("Basic not-base64!!", ""),
    ("Bearer wk_abc", ""),
    ("", ""),
])
def test_the_write_key_is_read_from_http_basic(header, key):
    assert write_key_from_authorization(header) == key


def test_plain_bodies_over_the_limit_are_413():
    with pytest.raises(IntakeError) as exc:
        decode_body(b"x" * 101, content_encoding="", limit=100)
    assert exc.value.status == 413


def test_gzip_and_deflate_are_decoded_and_several_gzip_members_are_joined():
    assert decode_body(gzip.compress(b'{"a":') + gzip.compress(b"1}"), content_encoding="gzip") == b'{"a":1}'
    assert decode_body(zlib.compress(b"{}"), content_encoding="deflate") == b"{}"


def test_decompression_stops_one_byte_past_the_limit():
    with pytest.raises(IntakeError) as exc:
        decode_body(gzip.compress(b"x" * 101), content_encoding="gzip", limit=100)
    assert exc.value.status == 413
    assert decode_body(gzip.compress(b"x" * 100), content_encoding="gzip", limit=100) == b"x" * 100


def test_an_unknown_content_encoding_is_415():
    with pytest.raises(IntakeError) as exc:
        decode_body(b"{}", content_encoding="br")
    assert exc.value.status == 415


@pytest.mark.parametrize("content_type, ok", [
    ("application/json", True), ("text/plain;charset=UTF-8", True), ("", True), ("application/vnd.x+json", True),
    ("multipart/form-data; boundary=x", False),
])
def test_content_types(content_type, ok):
    if ok:
        check_content_type(content_type)
    else:
        with pytest.raises(IntakeError):
            check_content_type(content_type)


def test_batch_level_context_and_sent_at_apply_to_every_message():
    payload = parse_json(
        b'{"sentAt": "2026-11-24T15:00:00Z", "context": {"library": {"name": "x"}, "ip": "1.2.3.4"},'
        b' "batch": [{"type": "page", "anonymousId": "a", "timestamp": "2026-11-24T14:59:00Z",'
        b' "context": {"ip": "5.6.7.8"}}]}'
    )
    [message] = messages_from(payload, path_type="batch", received_at=NOW)
    assert message.context == {"library": {"name": "x"}, "ip": "5.6.7.8"}
    assert message.occurred_at == datetime(2026, 11, 24, 14, 59, tzinfo=timezone.utc)


def test_every_bad_message_is_listed_by_index_up_to_twenty():
    payload = {"batch": [{"type": "track", "anonymousId": "a"}] * 30}
    with pytest.raises(IntakeError) as exc:
        messages_from(payload, path_type="batch", received_at=NOW)
    assert exc.value.status == 400
    assert [e.index for e in exc.value.errors] == list(range(20))
    assert "(and 29 more)" in exc.value.reason


def test_the_path_decides_the_type_of_a_single_message():
    [message] = messages_from({"type": "identify", "event": "e", "anonymousId": "a"}, path_type="track",
                              received_at=NOW)
    assert message.type == "track"
