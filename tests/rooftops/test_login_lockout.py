"""Failed logins are throttled and locked out: five wrong passwords for one login from one address lock it for
15 minutes, the login page says so, and a manager can unlock their own staff sooner."""

import pytest
from axes.models import AccessAttempt
from django.test import Client

from factories import make_staff
from rooftops.models import Role

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def attempt(client: Client, user, password: str, *, address: str = "203.0.113.7"):
    return client.post("/login/", {"username": user.username, "password": password}, REMOTE_ADDR=address)


def test_five_wrong_passwords_lock_the_login_for_15_minutes_and_the_page_says_so(world, client):
    for _ in range(4):
        response = attempt(client, world.salesperson, "wrong-password-1")
        assert response.status_code == 200 and "did not match" in response.content.decode()
    fifth = attempt(client, world.salesperson, "wrong-password-1")
    assert fifth.status_code == 429
    assert "locked for 15 minutes" in fifth.content.decode() and "ask your manager to unlock" in fifth.content.decode()
    # The right password does not get in while locked: no more guesses are checked.
    right = attempt(client, world.salesperson, PASSWORD)
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    # The lock is on this login from this address; the person at the store's own address still gets in.
    other_place = Client()
    assert attempt(other_place, world.salesperson, PASSWORD, address="198.51.100.20").status_code == 302


def test_the_lock_ends_after_15_minutes(world, client):
    for _ in range(5):
        attempt(client, world.salesperson, "wrong-password-1")
    assert attempt(client, world.salesperson, PASSWORD).status_code == 429
    from datetime import timedelta

    from django.utils import timezone

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert attempt(client, world.salesperson, PASSWORD).status_code == 302


def test_a_successful_login_starts_the_count_again(world, client):
    for _ in range(4):
        attempt(client, world.salesperson, "wrong-password-1")
    assert attempt(client, world.salesperson, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, world.salesperson, "wrong-password-1").status_code == 200


def test_a_manager_unlocks_a_locked_out_salesperson_from_the_staff_page(world, client):
    for _ in range(5):
        attempt(client, world.salesperson, "wrong-password-1")
    manager = Client()
    manager.force_login(world.manager)
    page = manager.get("/staff/").content.decode()
    row = page[page.index(f'id="staff-{world.salesperson.pk}"'):]
    row = row[:row.index("</tr>")]
    assert "Locked out" in row and f"/staff/{world.salesperson.pk}/unlock/" in row

    assert manager.post(f"/staff/{world.salesperson.pk}/unlock/").status_code == 302
    assert "Locked out" not in manager.get("/staff/").content.decode()
    assert attempt(client, world.salesperson, PASSWORD).status_code == 302


def test_another_stores_manager_cannot_unlock_this_stores_staff(world, client):
    for _ in range(5):
        attempt(client, world.salesperson, "wrong-password-1")
    other_manager = make_staff(world.other_rooftop, Role.MANAGER)
    manager = Client()
    manager.force_login(other_manager)
    assert manager.post(f"/staff/{world.salesperson.pk}/unlock/").status_code == 404
    salesperson = Client()
    salesperson.force_login(world.teammate)
    assert salesperson.post(f"/staff/{world.salesperson.pk}/unlock/").status_code == 404
    assert Client().post(f"/staff/{world.salesperson.pk}/unlock/").status_code == 302  # anonymous: to login
    assert attempt(client, world.salesperson, PASSWORD).status_code == 429


def test_the_test_clients_login_helper_still_works(world, client):
    assert client.login(username=world.salesperson.username, password=PASSWORD)
    assert client.get("/customers/").status_code == 200
