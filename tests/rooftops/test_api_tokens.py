import pytest
from django.core.management import call_command

from rooftops.models import ApiToken
from rooftops.services import api_token_create

pytestmark = pytest.mark.django_db


def test_an_api_token_opens_the_api_and_only_its_hash_is_stored(world, client):
    token, key = api_token_create(user=world.bdc, name="phone system")
    assert key not in {t.key_hash for t in ApiToken.objects.all()}
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert response.json()["rooftops"][0]["roles"] == ["bdc_agent"]


def test_a_wrong_token_is_401_and_no_credentials_is_401_or_403(client):
    assert client.get("/api/me/", HTTP_AUTHORIZATION="Token nope").status_code == 401
    assert client.get("/api/me/").status_code in (401, 403)


def test_a_user_makes_a_token_on_the_profile_page_and_sees_it_once(world, client):
    client.force_login(world.salesperson)
    response = client.post("/profile/tokens/", {"name": "my script"}, follow=True)
    key = response.context["new_token_key"]
    assert key and key in response.content.decode()
    assert client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    assert key not in client.get("/profile/").content.decode()


def test_create_api_token_command_prints_a_working_key(world, client, capsys):
    call_command("create_api_token", world.manager.username)
    key = capsys.readouterr().out.strip().split()[-1]
    assert client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_schema_is_served(client, world):
    client.force_login(world.manager)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/me/" in response.content
