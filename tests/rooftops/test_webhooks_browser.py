"""A manager adds a webhook endpoint in a real Chromium, copies the secret shown once, and redelivers from the log
(htmx puts the new delivery at the top) under the Content-Security-Policy, with no console error."""

import pytest

from rooftops.models import WebhookDelivery, WebhookEndpoint
from rooftops.webhooks import webhooks_emit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"  # tests/factories.py UserFactory


def test_a_manager_adds_an_endpoint_sees_the_secret_once_and_redelivers(world, live_server_url, page):
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.goto(f"{live_server_url}/login/")
    page.fill("input[name=username]", world.manager.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("header.topbar")

    page.click("nav.nav >> text=Webhooks")
    page.wait_for_selector("text=No endpoints yet")
    page.fill("input[name=url]", "http://127.0.0.1:9/hooks")
    page.fill("input[name=description]", "Data warehouse")
    page.check("input[value='lead.created']")
    page.click("button:has-text('Add endpoint')")
    secret = page.inner_text("#webhook-secret")
    endpoint = WebhookEndpoint.unscoped.get(rooftop=world.rooftop)
    assert secret == endpoint.secret and secret.startswith("whsec_")

    webhooks_emit(world.rooftop, "lead.created", {"lead": {"id": 1}}, object_key="lead:1")
    first = WebhookDelivery.unscoped.get(endpoint=endpoint)
    page.click("text=← Webhooks at")
    page.click("text=http://127.0.0.1:9/hooks")
    assert page.locator("#webhook-secret").count() == 0  # shown once only
    page.wait_for_selector(f"#delivery-{first.id}")
    page.click(f"#delivery-{first.id} >> button:has-text('Redeliver')")
    page.wait_for_selector("#deliveries tr:first-child >> text=again of")
    copy = WebhookDelivery.unscoped.exclude(pk=first.pk).get()
    assert page.locator("#deliveries tr").first.get_attribute("id") == f"delivery-{copy.id}"
    assert not problems, problems
