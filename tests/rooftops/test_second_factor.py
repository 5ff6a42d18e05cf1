"""Staff sign in with a second factor: an authenticator app (TOTP) and one-time recovery codes. Where the dealer
group requires it, a person without a verified second factor reaches no customer data: pages send them to set it
up, API tokens get 403 with the reason, and the live feed's websocket is refused."""

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from factories import make_customer
from rooftops.services import api_token_create
from second_factor_support import authenticator_code, enrol, wait_out_the_throttle

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests/factories.py


def log_in(client: Client, user, *, next_url: str = "") -> object:
    """The real login form, as a person uses it."""
    return client.post(f"/login/{'?next=' + next_url if next_url else ''}",
                       {"username": user.username, "password": PASSWORD, "next": next_url})


def require_second_factor(world) -> None:
    group = world.rooftop.dealer_group
    group.require_second_factor = True
    group.save(update_fields=["require_second_factor"])


def test_a_salesperson_sets_up_an_authenticator_app_from_a_qr_code_and_sees_recovery_codes_once(world, client):
    client.force_login(world.salesperson)
    page = client.get("/account/second-factor/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and 'id="totp-secret"' in html  # the QR code, and the key to type by hand
    device = TOTPDevice.objects.get(user=world.salesperson, confirmed=False)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert secret == __import__("base64").b32encode(device.bin_key).decode().rstrip("=")

    wrong = client.post("/account/second-factor/", {"code": "000000"})
    assert wrong.status_code == 422 and "did not match" in wrong.content.decode()
    wait_out_the_throttle(world.salesperson)
    done = client.post("/account/second-factor/", {"code": authenticator_code(device)}, follow=True)
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == 10
    assert TOTPDevice.objects.get(user=world.salesperson).confirmed
    again = client.get("/account/second-factor/recovery-codes/").content.decode()
    assert not any(code in again for code in codes) and "10 unused recovery codes" in again


def test_after_the_password_a_person_with_an_authenticator_enters_its_code(world, client):
    device, _ = enrol(world.salesperson)
    response = log_in(client, world.salesperson, next_url="/customers/")
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 302 and page["Location"].startswith("/account/second-factor/verify/")
    assert client.get("/customers/").status_code == 302  # nothing until the code

    wrong = client.post("/account/second-factor/verify/", {"code": "123456", "next": "/customers/"})
    assert wrong.status_code == 422 and "did not work" in wrong.content.decode()
    wait_out_the_throttle(world.salesperson)
    right = client.post("/account/second-factor/verify/", {"code": authenticator_code(device), "next": "/customers/"})
    assert right.status_code == 302 and right["Location"] == "/customers/"
    assert client.get("/customers/").status_code == 200


def test_a_recovery_code_gets_a_person_in_once(world, client):
    _, codes = enrol(world.bdc)
    log_in(client, world.bdc)
    assert client.post("/account/second-factor/verify/", {"code": codes[0]}).status_code == 302
    assert client.get("/customers/").status_code == 200

    other = Client()
    log_in(other, world.bdc)
    reused = other.post("/account/second-factor/verify/", {"code": codes[0]})
    assert reused.status_code == 422
    wait_out_the_throttle(world.bdc)
    assert other.post("/account/second-factor/verify/", {"code": codes[1].upper()}).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(world, client):
    device, old_codes = enrol(world.bdc)
    log_in(client, world.bdc)
    client.post("/account/second-factor/verify/", {"code": authenticator_code(device)})
    page = client.post("/account/second-factor/recovery-codes/", follow=True).content.decode()
    new_codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page)
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)

    other = Client()
    log_in(other, world.bdc)
    assert other.post("/account/second-factor/verify/", {"code": old_codes[0]}).status_code == 422
    wait_out_the_throttle(world.bdc)
    assert other.post("/account/second-factor/verify/", {"code": new_codes[0]}).status_code == 302


def test_when_the_group_requires_it_pages_send_a_person_without_one_to_set_it_up(world, client):
    require_second_factor(world)
    customer = make_customer(world.rooftop)
    client.force_login(world.bdc)
    for path in (f"/customers/{customer.pk}/", "/alerts/", "/customers/?q=Pat", "/leads/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/account/second-factor/?next="), path
    assert client.get(f"/customers/{customer.pk}/", HTTP_HX_REQUEST="true")["HX-Redirect"] == "/account/second-factor/"
    # The session's API calls get the reason instead of customer data.
    api = client.get(f"/api/customers/{customer.pk}/")
    assert api.status_code == 403 and "requires a second factor" in api.json()["detail"]
    # Setting it up, and logging out, stay open.
    assert client.get("/account/second-factor/").status_code == 200

    device = TOTPDevice.objects.get(user=world.bdc, confirmed=False)
    client.post("/account/second-factor/", {"code": authenticator_code(device)})
    assert client.get(f"/customers/{customer.pk}/").status_code == 200
    assert client.get(f"/api/customers/{customer.pk}/").status_code == 200


def test_when_the_group_requires_it_an_api_token_of_a_person_without_one_gets_403_with_the_reason(world, client):
    customer = make_customer(world.rooftop)
    _, key = api_token_create(user=world.bdc, name="phone system")
    assert client.get(f"/api/customers/{customer.pk}/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200

    require_second_factor(world)
    refused = client.get(f"/api/customers/{customer.pk}/", HTTP_AUTHORIZATION=f"Token {key}")
    assert refused.status_code == 403
    assert "requires a second factor" in refused.json()["detail"]
    assert "Pat" not in refused.content.decode()

    enrol(world.bdc)
    assert client.get(f"/api/customers/{customer.pk}/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_a_person_in_another_group_is_not_held_to_this_groups_rule(world, client):
    from factories import RooftopFactory, make_staff

    require_second_factor(world)
    elsewhere = make_staff(RooftopFactory(), display_name="Elsewhere")
    client.force_login(elsewhere)
    assert client.get("/customers/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_when_the_group_requires_it_the_live_feed_refuses_a_session_without_a_verified_second_factor(
    world, live_server_url,
):
    require_second_factor(world)
    netloc = urlsplit(live_server_url).netloc
    client = Client()
    log_in(client, world.bdc)
    headers = {"Origin": live_server_url, "Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://{netloc}/ws/alerts/", additional_headers=headers, open_timeout=10).close()
    assert refused.value.response.status_code == 403

    _, key = api_token_create(user=world.bdc, name="script")
    with pytest.raises(InvalidStatus):
        connect(f"ws://{netloc}/ws/alerts/?token={key}", open_timeout=10).close()

    # Set up and verified in this session: the same cookie and the same token now open the feed.
    client.get("/account/second-factor/")
    device = TOTPDevice.objects.get(user=world.bdc, confirmed=False)
    assert client.post("/account/second-factor/", {"code": authenticator_code(device)}).status_code == 302
    headers["Cookie"] = f"sessionid={client.cookies['sessionid'].value}"
    with connect(f"ws://{netloc}/ws/alerts/", additional_headers=headers, open_timeout=10) as ws:
        ws.send('{"type": "ping"}')
        assert "pong" in ws.recv(timeout=10)
    with connect(f"ws://{netloc}/ws/alerts/?token={key}", open_timeout=10) as ws:
        ws.send('{"type": "ping"}')
        assert "pong" in ws.recv(timeout=10)


def test_a_manager_requires_a_second_factor_for_the_group_on_the_staff_page(world, client):
    client.force_login(world.manager)
    page = client.get("/staff/")
    assert page.status_code == 200 and "Require a second factor" in page.content.decode()
    assert world.salesperson.username in page.content.decode()
    assert world.outsider.username not in page.content.decode()  # another store's staff are not listed
    client.post("/staff/second-factor/", {"required": "on"})
    world.rooftop.dealer_group.refresh_from_db()
    assert world.rooftop.dealer_group.require_second_factor
    assert world.rooftop.dealer_group.require_second_factor_changed_by == world.manager
    # The manager is held to it too, from their next page.
    assert client.get("/staff/")["Location"].startswith("/account/second-factor/")


def test_only_managers_reach_the_staff_page(world, client):
    client.force_login(world.salesperson)
    assert client.get("/staff/").status_code == 404
    assert client.post("/staff/second-factor/", {"required": "on"}).status_code == 404
    world.rooftop.dealer_group.refresh_from_db()
    assert not world.rooftop.dealer_group.require_second_factor
    anonymous = Client().get("/staff/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


def test_a_manager_resets_a_lost_authenticator_and_the_person_sets_up_a_new_one(world, client):
    enrol(world.salesperson)
    client.force_login(world.manager)
    assert client.post(f"/staff/{world.salesperson.pk}/reset-second-factor/").status_code == 302
    assert not TOTPDevice.objects.filter(user=world.salesperson).exists()
    # Another store's manager cannot touch this store's staff.
    from factories import make_staff
    from rooftops.models import Role

    other_manager = make_staff(world.other_rooftop, Role.MANAGER)
    enrol(world.salesperson)
    client.force_login(other_manager)
    assert client.post(f"/staff/{world.salesperson.pk}/reset-second-factor/").status_code == 404
    assert TOTPDevice.objects.filter(user=world.salesperson).exists()
