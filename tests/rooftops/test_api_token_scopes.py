"""API tokens are limited in scope (read only, or read and write) and lifetime."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from factories import make_customer
from rooftops.models import ApiToken
from rooftops.services import api_token_create

pytestmark = pytest.mark.django_db


def test_a_read_only_token_reads_but_cannot_write_and_is_told_why(world, client):
    customer = make_customer(world.rooftop)
    _, key = api_token_create(user=world.bdc, name="reporting", scope="read", lifetime=timedelta(days=30))
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    assert client.get(f"/api/customers/{customer.pk}/", **auth).status_code == 200
    write = client.post(f"/api/customers/{customer.pk}/notes/", {"text": "called"}, content_type="application/json",
                        **auth)
    assert write.status_code == 403
    assert "read-only" in write.json()["detail"]
    timeline = client.get(f"/api/customers/{customer.pk}/timeline/", **auth).content.decode()
    assert "called" not in timeline


def test_a_read_and_write_token_writes(world, client):
    customer = make_customer(world.rooftop)
    _, key = api_token_create(user=world.bdc, name="phone system", scope="read_write", lifetime=timedelta(days=30))
    write = client.post(f"/api/customers/{customer.pk}/notes/", {"text": "called"}, content_type="application/json",
                        HTTP_AUTHORIZATION=f"Token {key}")
    assert write.status_code == 201


def test_an_expired_token_gets_401_saying_it_expired(world, client):
    token, key = api_token_create(user=world.bdc, name="old", lifetime=timedelta(days=7))
    assert client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_a_token_from_the_profile_page_has_the_chosen_access_and_expiry(world, client):
    client.force_login(world.salesperson)
    response = client.post("/profile/tokens/", {"name": "dashboard", "scope": "read", "lifetime_days": "30"},
                           follow=True)
    token = ApiToken.objects.get(user=world.salesperson)
    assert token.scope == "read"
    assert abs((token.expires_at - timezone.now()) - timedelta(days=30)) < timedelta(minutes=1)
    page = response.content.decode()
    assert "Read only" in page and token.expires_at.strftime("%b %-d, %Y") in page
    # Only the offered lifetimes: a page cannot make a token that never expires.
    assert client.post("/profile/tokens/", {"scope": "read", "lifetime_days": "0"}).status_code == 400
    assert client.post("/profile/tokens/", {"scope": "admin", "lifetime_days": "30"}).status_code == 400


def test_the_command_makes_a_read_only_token_with_a_lifetime(world, client, capsys):
    call_command("create_api_token", world.manager.username, "--scope", "read", "--days", "30")
    key = capsys.readouterr().out.strip().split()[-1]
    token = ApiToken.objects.get(user=world.manager)
    assert token.scope == "read" and token.expires_at is not None
    assert client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_an_expired_token_does_not_open_the_live_feed(world, live_server_url):
    from urllib.parse import urlsplit

    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    token, key = api_token_create(user=world.bdc, name="script", scope="read", lifetime=timedelta(days=1))
    url = f"ws://{urlsplit(live_server_url).netloc}/ws/alerts/?token={key}"
    with connect(url, open_timeout=10) as ws:  # a read-only token may watch the feed
        ws.send('{"type": "ping"}')
        assert "pong" in ws.recv(timeout=10)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidStatus):
        connect(url, open_timeout=10).close()
