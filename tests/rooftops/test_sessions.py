"""Sessions are short (8 idle hours, renewed by activity) and end when the password changes."""

import time

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def log_in(client, user):
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response


def test_a_login_lasts_8_idle_hours_not_14_days(world, client):
    response = log_in(client, world.salesperson)
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    cookie = response.cookies["sessionid"]
    assert int(cookie["max-age"]) == 8 * 3600
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_using_the_crm_renews_the_session_at_most_every_few_minutes(world, client):
    log_in(client, world.salesperson)
    key = client.cookies["sessionid"].value
    # An hour ago, as far as the session knows.
    session = client.session
    session["_renewed_at"] = int(time.time()) - 3600
    session.save()
    Session.objects.filter(session_key=key).update(expire_date=Session.objects.get(session_key=key).expire_date
                                                    - __import__("datetime").timedelta(hours=1))
    before = Session.objects.get(session_key=key).expire_date
    response = client.get("/customers/")
    assert response.status_code == 200
    after = Session.objects.get(session_key=key).expire_date
    assert after > before  # pushed forward by the activity
    assert int(response.cookies["sessionid"]["max-age"]) == 8 * 3600
    # A second request straight after writes nothing: the renewal is at most every SESSION_RENEW_SECONDS.
    assert "sessionid" not in client.get("/customers/").cookies


def test_changing_the_password_ends_the_persons_other_sessions(world, client):
    log_in(client, world.salesperson)
    assert client.get("/customers/").status_code == 200
    world.salesperson.set_password("a-new-password-99")
    world.salesperson.save()
    response = client.get("/customers/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    fresh = Client()
    assert fresh.post("/login/", {"username": world.salesperson.username, "password": "a-new-password-99"}).status_code == 302
    assert fresh.get("/customers/").status_code == 200
