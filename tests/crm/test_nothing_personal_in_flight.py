"""Celery messages carry ids, never personal data; log lines carry no token, password or message body.

One shopper's day goes through the real doors (the collector, ADF intake, the worker's tasks, sign-in, the SMS
webhook, a refused ADF post): every task message published to the real broker is read as it leaves, each is
then run as the worker would, and every log line is written through the project's own redaction at the level a
deployment runs (INFO, and DEBUG for the CRM's own loggers)."""

import base64
import io
import json
import logging
import re
import time
from datetime import timedelta

import pytest
from celery.signals import before_task_publish
from django.core import mail
from django.utils import timezone

from crm import handoff
from crm.celery import app as celery_app
from crm.logging import RedactSecretsFilter
from customers.email_backends import LogOnlyEmailBackend
from customers.models import ConsentRecord, OutboundMessage
from customers.sms import LogOnlySmsBackend, OutgoingSms, twilio_signature
from factories import InventoryVehicleFactory, add_contact, make_customer
from rooftops.services import api_token_create

pytestmark = pytest.mark.django_db(transaction=True)

NAME, SURNAME = "Zebulon", "Quixotez"
EMAIL = "zebulon.quixotez@example.com"
PHONE_DIGITS = "6175550199"
COMMENT = "my aubergine 2009 Civic has 212000 miles"
INBOUND_TEXT = "is the aubergine trade offer still good"
PASSWORD = "correct-horse-battery"  # the factories' staff password
WRONG_PASSWORD = "wrong-Horse-7731"
CRM_LOGGERS = ("crm", "customers", "leads", "alerts", "tracking", "service", "rooftops", "kpis")
ID_ONLY = re.compile(r"^[a-z_]{1,32}$")  # a queue or kind name is allowed beside ids; nothing free-form

ADF = f"""<?xml version="1.0"?><?adf version="1.0"?>
<adf><prospect status="new"><id sequence="1" source="Cars.com">CC-FLIGHT-1</id>
  <requestdate>2026-11-24T10:09:00-05:00</requestdate>
  <vehicle interest="buy" status="used"><year>2024</year><make>Toyota</make><model>RAV4</model></vehicle>
  <customer><contact><name part="first">{NAME}</name><name part="last">{SURNAME}</name>
    <email>{EMAIL}</email><phone>(617) 555-0199</phone></contact><comments>{COMMENT}</comments></customer>
  <provider><name part="full">Cars.com</name></provider></prospect></adf>"""


@pytest.fixture
def published():
    """Every task message as it leaves for the broker: (task name, args, kwargs, argsrepr, kwargsrepr)."""
    seen = []

    def on_publish(sender=None, body=None, headers=None, **_):
        args, kwargs, _embed = body
        seen.append((sender, args, kwargs, headers.get("argsrepr", ""), headers.get("kwargsrepr", "")))

    before_task_publish.connect(on_publish, weak=False)
    yield seen
    before_task_publish.disconnect(on_publish)


@pytest.fixture
def log_lines():
    """The log as a deployment writes it: a handler on root with the project's redaction filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", *CRM_LOGGERS)}
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in CRM_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def vdp(vehicle, n: int) -> dict:
    return {"type": "track", "event": "asc_item_pageview", "anonymousId": "anon-flight", "messageId": f"flight-{n}",
            "properties": {"item_id": vehicle.vin, "item_number": vehicle.stock_number, "item_year": vehicle.year,
                           "item_make": vehicle.make, "item_model": vehicle.model, "page_type": "item"}}


def _leaves(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def test_a_shoppers_day_puts_only_ids_on_the_broker_and_nothing_secret_in_the_log(
        client, world, published, log_lines, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TWILIO_AUTH_TOKEN = "test-auth-token"
    settings.MESSAGING_QUIET_HOURS_CHANNELS = []  # whatever the hour the test runs at, the text goes too
    world.rooftop.tracking_write_key = "wk_in_flight"
    world.rooftop.save(update_fields=["tracking_write_key"])
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    _, api_key = api_token_create(user=world.manager, name="script")

    # The website: the shopper says who they are, then looks at one car four times.
    identify = {"type": "identify", "anonymousId": "anon-flight", "messageId": "flight-identify",
                "traits": {"email": EMAIL, "firstName": NAME, "lastName": SURNAME, "phone": PHONE_DIGITS}}
    batch = {"batch": [identify] + [vdp(vehicle, n) for n in range(4)]}
    basic = "Basic " + base64.b64encode(b"wk_in_flight:").decode()
    assert client.post("/v1/batch", json.dumps(batch), content_type="application/json",
                       HTTP_AUTHORIZATION=basic).status_code == 200
    # A lead provider sends the same person with a comment, and a text-consented phone.
    intake = f"/intake/adf/{world.rooftop.lead_intake_token}/"
    created = client.post(intake, ADF, content_type="application/xml")
    assert created.status_code == 201, created.content
    customer_id = created.json()["customer_id"]
    ConsentRecord.objects.create(customer_id=customer_id, dealer_group=world.rooftop.dealer_group, channel="sms",
                                 purpose="transactional", granted=True, source="test",
                                 recorded_at=timezone.now() - timedelta(days=1))
    # A provider's broken post names the intake path (and its token) in Django's "Bad Request" line.
    assert client.post(intake, "<adf><prospect>", content_type="application/xml").status_code == 400
    assert handoff.flush()

    # The worker's side: every published message, run as the worker runs it.
    assert {name for name, *_ in published} >= {"alerts.tasks.score_pending",
                                                  "customers.tasks.send_outbound_message"}, published
    for name, args, kwargs, argsrepr, kwargsrepr in published:
        for leaf in _leaves([args, kwargs]):
            assert isinstance(leaf, (int, bool, type(None))) or (isinstance(leaf, str) and ID_ONLY.match(leaf)), (
                f"{name} carries {leaf!r}: a task message holds ids, never values")
        result = celery_app.tasks[name].apply(args=args, kwargs=kwargs)
        assert result.successful(), (name, result.traceback)
        # The worker logs a task's return value ("succeeded in 0.01s: ..."): it must hold nothing personal either.
        returned = repr(result.result)
        for personal in (NAME, SURNAME, EMAIL, PHONE_DIGITS, COMMENT):
            assert personal not in returned, (name, returned)
    assert handoff.flush()
    # The first response really went, personalised (sent here, or by the suite's worker if it took the message
    # from the broker first: the stored body is the one sent either way).
    deadline = time.monotonic() + 30  # the suite's worker may still be sending the one it claimed
    while not (sent := OutboundMessage.unscoped.filter(customer_id=customer_id, status="sent")).exists():
        assert time.monotonic() < deadline, list(OutboundMessage.unscoped.values_list("status", flat=True))
        time.sleep(0.1)
    bodies = [message.body for message in sent]
    assert bodies and all(NAME in body for body in bodies)

    # A text comes in; staff sign in wrongly, then rightly; a script uses its token.
    params = {"MessageSid": "SMflight", "AccountSid": "ACtest", "From": "+16175550199", "To": "+16175550100",
              "Body": INBOUND_TEXT}
    signature = twilio_signature("http://testserver/webhooks/sms/inbound/", params.items(), "test-auth-token")
    assert client.post("/webhooks/sms/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 200
    client.post("/login/", {"username": world.manager.username, "password": WRONG_PASSWORD})
    client.post("/login/", {"username": world.manager.username, "password": PASSWORD})
    assert client.get(f"/api/customers/{customer_id}/?api_key={api_key}",
                      HTTP_AUTHORIZATION=f"Token {api_key}").status_code == 200
    # With no provider configured (a deployment's default), a message is "not delivered", by key only.
    LogOnlyEmailBackend().send_messages([mail.EmailMessage(subject=f"For {NAME}", body=bodies[0], to=[EMAIL],
                                                           headers={"X-CRM-Idempotency-Key": "flight:1:email"})])
    LogOnlySmsBackend().send(OutgoingSms(to="+16175550199", body=INBOUND_TEXT, idempotency_key="flight:1:sms"))

    for name, args, kwargs, argsrepr, kwargsrepr in published:
        for personal in (NAME, SURNAME, EMAIL, PHONE_DIGITS, COMMENT, INBOUND_TEXT, *bodies):
            assert personal not in f"{args}{kwargs}{argsrepr}{kwargsrepr}", name
    logged = log_lines.getvalue()
    assert "Bad Request: /intake/adf/[redacted]/" in logged  # the line is there, without its token
    assert "not delivered" in logged
    for secret in (PASSWORD, WRONG_PASSWORD, api_key, world.rooftop.lead_intake_token, INBOUND_TEXT, COMMENT,
                   *bodies, *(line for body in bodies for line in body.splitlines() if len(line) > 24)):
        assert secret not in logged, f"the log carries {secret!r}"
