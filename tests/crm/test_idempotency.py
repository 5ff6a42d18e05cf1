"""`Idempotency-Key` on API POSTs (crm.idempotency): a retry answers the first result and writes nothing twice."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from crm.idempotency import idempotency_keys_purge
from customers.models import TimelineEntry
from factories import make_customer
from rooftops.models import IdempotencyKey
from rooftops.services import api_token_create

pytestmark = pytest.mark.django_db


def _note(client, customer, text="Called about the RAV4", key="retry-1", **headers):
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(f"/api/customers/{customer.pk}/notes/", {"text": text}, content_type="application/json",
                       **headers)


def _notes(customer) -> int:
    return TimelineEntry.unscoped.filter(customer=customer, kind="note").count()


def test_a_retry_with_the_same_key_answers_the_first_result_and_writes_nothing(world, client):
    customer = make_customer(world.rooftop)
    client.force_login(world.bdc)
    first = _note(client, customer)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = _note(client, customer)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _notes(customer) == 1


def test_without_a_key_each_post_writes(world, client):
    customer = make_customer(world.rooftop)
    client.force_login(world.bdc)
    _note(client, customer, key=None)
    _note(client, customer, key=None)
    assert _notes(customer) == 2


def test_the_same_key_with_another_body_is_422_and_writes_nothing(world, client):
    customer = make_customer(world.rooftop)
    client.force_login(world.bdc)
    _note(client, customer)
    other = _note(client, customer, text="Something else")
    assert other.status_code == 422 and "different body" in other.json()["detail"]
    assert _notes(customer) == 1


def test_a_key_belongs_to_its_caller_and_path(world, client):
    customer = make_customer(world.rooftop)
    client.force_login(world.bdc)
    _note(client, customer)
    client.force_login(world.salesperson)
    assert _note(client, customer).status_code == 201  # the same key from someone else is theirs
    _, key = api_token_create(user=world.bdc, name="phone system")
    client.logout()
    assert "Idempotent-Replayed" not in _note(client, customer, HTTP_AUTHORIZATION=f"Token {key}").headers
    assert _notes(customer) == 3
    assert _note(client, customer, HTTP_AUTHORIZATION=f"Token {key}").headers["Idempotent-Replayed"] == "true"
    assert _notes(customer) == 3


def test_a_refused_request_is_answered_the_same_on_retry(world, client):
    customer = make_customer(world.rooftop)
    client.force_login(world.bdc)
    first = _note(client, customer, text="")
    assert first.status_code == 400 and "text" in first.json()
    again = _note(client, customer, text="")
    assert (again.status_code, again.json(), again.headers["Idempotent-Replayed"]) == (400, first.json(), "true")


@pytest.mark.parametrize("bad", ["has space", "x" * 256, "tab\there"])
def test_a_malformed_key_is_400_saying_why(world, client, bad):
    customer = make_customer(world.rooftop)
    client.force_login(world.bdc)
    response = _note(client, customer, key=bad)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()
    assert _notes(customer) == 0


def test_keys_expire_after_24_hours(world, client):
    customer = make_customer(world.rooftop)
    client.force_login(world.bdc)
    _note(client, customer)
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert "Idempotent-Replayed" not in _note(client, customer).headers  # expired: a new request
    assert _notes(customer) == 2
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    _note(client, customer, key="another")
    assert idempotency_keys_purge() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["another"]


def test_the_alert_actions_take_a_key_too(world, client):
    from alerts.models import Alert, AlertAction

    alert = Alert.unscoped.create(rooftop=world.rooftop, customer=make_customer(world.rooftop), for_team="bdc",
                                  kind="repeat_vdp_views", reasons=["Viewed it 4 times"])
    client.force_login(world.bdc)
    url = f"/api/alerts/{alert.pk}/act/"
    body = {"channel": "call", "note": "Left a voicemail"}
    first = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="act-1")
    again = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="act-1")
    assert first.status_code == 200 and again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert first.status_code == 200, first.json()
    assert AlertAction.objects.filter(alert=alert, action="call").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_retries_make_one_write(world):
    customer = make_customer(world.rooftop)
    _, key = api_token_create(user=world.bdc, name="flaky network")
    start = threading.Barrier(2)
    answers = []

    def post():
        try:
            start.wait()
            answers.append(_note(Client(), customer, key="same-moment", HTTP_AUTHORIZATION=f"Token {key}"))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert _notes(customer) == 1


def test_a_key_on_a_route_without_post_is_still_405(world, client):
    client.force_login(world.manager)
    assert client.post("/api/me/", {}, HTTP_IDEMPOTENCY_KEY="k").status_code == 405
    assert not IdempotencyKey.objects.exists()
