"""The pure parts of outbound webhooks, without Django: signature, backoff schedule, order per object, URLs.

Runs with `python -m pytest --noconftest -p no:django tests/rooftops/test_webhooks_rules.py`.
"""

import ipaddress
from datetime import timedelta

import pytest

from crm.backoff import MESSAGING_SCHEDULE, WEBHOOK_SCHEDULE, backoff_delay, max_attempts
from rooftops.webhook_rules import (
    QueuedDelivery, scrubbed_payload, signature, signature_header, signature_verify, url_refusal, waits_for_earlier,
)

SECRET = "whsec_test"
BODY = b'{"id":"7","event":"lead.created"}'


def test_a_receiver_verifies_the_signature_it_was_sent():
    header = signature_header(SECRET, 1_700_000_000, BODY)
    assert header == f"t=1700000000,v1={signature(SECRET, 1_700_000_000, BODY)}"
    assert signature_verify(SECRET, header, BODY, now=1_700_000_100)


@pytest.mark.parametrize("secret, body, now, why", [
    ("whsec_other", BODY, 1_700_000_000, "another secret"),
    (SECRET, BODY + b" ", 1_700_000_000, "a changed body"),
    (SECRET, BODY, 1_700_000_301, "a replay after five minutes"),
])
def test_a_signature_does_not_verify_with(secret, body, now, why):
    assert not signature_verify(secret, signature_header(SECRET, 1_700_000_000, BODY), body, now=now), why


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", "t=1700000000"])
def test_a_malformed_header_does_not_verify(header):
    assert not signature_verify(SECRET, header, BODY, now=1_700_000_000)


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1_700_000_000, BODY) == expected


@pytest.mark.parametrize("attempts, wait", [
    (1, timedelta(minutes=1)), (2, timedelta(minutes=5)), (3, timedelta(minutes=30)), (4, timedelta(hours=2)),
    (5, timedelta(hours=6)), (6, timedelta(hours=12)), (7, timedelta(hours=12)), (8, None),
])
def test_webhook_backoff(attempts, wait):
    assert backoff_delay(attempts, WEBHOOK_SCHEDULE) == wait


def test_webhook_retries_last_about_a_day_and_a_half():
    assert timedelta(hours=24) < sum(WEBHOOK_SCHEDULE, timedelta()) < timedelta(hours=36)
    assert max_attempts(WEBHOOK_SCHEDULE) == 8


@pytest.mark.parametrize("attempts, wait", [(1, 1), (2, 2), (3, 4), (4, 8), (5, None)])
def test_messaging_backoff_is_what_it_was(attempts, wait):
    assert backoff_delay(attempts, MESSAGING_SCHEDULE) == (timedelta(minutes=wait) if wait else None)
    assert max_attempts(MESSAGING_SCHEDULE) == 5


def test_backoff_is_asked_after_an_attempt():
    with pytest.raises(ValueError):
        backoff_delay(0, WEBHOOK_SCHEDULE)


def Q(id, endpoint=1, key="lead:1", unfinished=True):  # noqa: N802
    return QueuedDelivery(id, endpoint, key, unfinished)


@pytest.mark.parametrize("others, waits, why", [
    ([], False, "nothing earlier"),
    ([Q(4)], True, "an earlier one for the same object is unfinished"),
    ([Q(4, unfinished=False)], False, "the earlier one was delivered or given up"),
    ([Q(6)], False, "only a later one"),
    ([Q(4, key="lead:2")], False, "another object"),
    ([Q(4, endpoint=2)], False, "another endpoint"),
    ([Q(3, unfinished=False), Q(4)], True, "one of several earlier ones is unfinished"),
])
def test_order_per_object(others, waits, why):
    assert waits_for_earlier(Q(5), others) is waits, why


def _refusal(url, addresses=("93.184.216.34",), allow_loopback=False):
    return url_refusal(url, addresses=list(addresses) if addresses is not None else None,
                       allow_loopback=allow_loopback,
                       is_public=lambda a: ipaddress.ip_address(a).is_global,
                       is_loopback=lambda a: ipaddress.ip_address(a).is_loopback)


@pytest.mark.parametrize("url, addresses, allow_loopback, refused", [
    ("https://hooks.example.com/crm", ("93.184.216.34",), False, None),
    ("http://hooks.example.com/crm", ("93.184.216.34",), False, "https://"),
    ("http://hooks.example.com/crm", ("93.184.216.34",), True, "https://"),
    ("https://db.internal/crm", ("10.0.0.5",), False, "private or local"),
    ("https://metadata/crm", ("169.254.169.254",), True, "private or local"),
    ("https://two.example.com/", ("93.184.216.34", "192.168.1.1"), False, "private or local"),
    ("http://127.0.0.1:8080/hooks", ("127.0.0.1",), False, "https://"),
    ("https://127.0.0.1:8080/hooks", ("127.0.0.1",), False, "private or local"),
    ("http://127.0.0.1:8080/hooks", ("127.0.0.1",), True, None),
    ("https://nowhere.example/", None, False, "not found"),
    ("http://nowhere.example/", None, True, "https://"),
    ("ftp://hooks.example.com/", ("93.184.216.34",), False, "https://"),
    ("https://user:pw@hooks.example.com/", ("93.184.216.34",), False, "user name and password"),
    ("https://hooks.example.com:99999/", ("93.184.216.34",), False, "not a web address"),
    ("https://hooks.example.com/" + "a" * 1000, ("93.184.216.34",), False, "longer than"),
])
def test_which_urls_may_receive(url, addresses, allow_loopback, refused):
    reason = _refusal(url, addresses, allow_loopback)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason, reason


def test_an_erasure_blanks_names_and_sentences_and_keeps_ids():
    payload = {"lead": {"id": 4, "status": "new", "customer": {"id": 9, "name": "Pat Shopper"},
                        "vehicle": {"description": "Pat's old Civic"}, "assigned_to": None},
               "reason": "Pat bought elsewhere", "alerts": [{"reasons": ["Pat viewed it 4 times"], "id": 2}]}
    assert scrubbed_payload(payload) == {
        "lead": {"id": 4, "status": "new", "customer": {"id": 9, "name": ""}, "vehicle": {"description": ""},
                 "assigned_to": None},
        "reason": "", "alerts": [{"reasons": [], "id": 2}]}
