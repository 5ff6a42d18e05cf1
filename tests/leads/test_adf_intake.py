"""ADF intake over HTTP and email: status codes, the needs-review queue, dedupe across channels, export."""

from __future__ import annotations

import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.core.management import call_command

from customers.models import Customer, CustomerRooftop, TimelineEntry
from factories import InventoryVehicleFactory, add_contact, make_customer
from leads.adf import parse_adf
from leads.models import AdfReview, Lead

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).parent / "adf_samples"

ADF = """<?xml version="1.0"?>
<?adf version="1.0"?>
<adf><prospect status="new">
  <id sequence="1" source="Cars.com">{ref}</id>
  <requestdate>2026-11-24T09:15:00-05:00</requestdate>
  <vehicle interest="buy" status="new"><year>2024</year><make>Toyota</make><model>RAV4</model><trim>XLE</trim>
    <vin>{vin}</vin><stock>{stock}</stock></vehicle>
  <vehicle interest="trade-in" status="used"><year>2016</year><make>Honda</make><model>Civic</model>
    <odometer>84,000</odometer></vehicle>
  <customer><contact><name part="full">Jane Q Doe</name><email>{email}</email>
    <phone type="cellphone">(617) 555-0134</phone></contact><comments>Call after 5pm</comments></customer>
  <provider><name part="full">Cars.com</name></provider>
</prospect></adf>"""


def adf(ref="CC-1", vin="", stock="", email="jane.doe@example.com") -> bytes:
    return ADF.format(ref=ref, vin=vin, stock=stock, email=email).encode()


def url(rooftop) -> str:
    return f"/intake/adf/{rooftop.lead_intake_token}/"


def test_a_raw_xml_body_creates_the_customer_and_the_lead(client, world):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    response = client.post(url(world.rooftop), adf(vin=vehicle.vin), content_type="application/xml")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "created"
    lead = Lead.unscoped.get(pk=body["lead_id"])
    assert lead.customer_id == body["customer_id"]
    assert lead.source == Lead.Source.ADF and lead.provider == "Cars.com"
    assert lead.vehicle == vehicle and lead.vehicle_description == ""
    assert lead.trade_in["make"] == "Honda" and lead.trade_in["mileage"] == 84000
    assert lead.dedupe_key == parse_adf(adf(vin=vehicle.vin)).dedupe_key
    assert "<prospect" in lead.raw_adf
    customer = lead.customer
    assert (customer.first_name, customer.last_name) == ("Jane", "Doe")
    assert list(customer.phones.values_list("e164", flat=True)) == ["+16175550134"]
    assert CustomerRooftop.objects.filter(customer=customer, rooftop=world.rooftop).exists()
    entry = TimelineEntry.unscoped.get(customer=customer, kind="lead")
    assert entry.lead == lead and "Cars.com" in entry.summary and "RAV4" in entry.summary


@pytest.mark.parametrize("content_type", ["text/xml", "text/plain", "application/xml; charset=utf-8"])
def test_every_raw_content_type_is_read(client, world, content_type):
    response = client.post(url(world.rooftop), adf(ref=f"R-{content_type}"), content_type=content_type)
    assert response.status_code == 201 and response.json()["status"] == "created"


@pytest.mark.parametrize("field", ["adf", "xml"])
def test_the_document_may_come_as_a_form_field(client, world, field):
    response = client.post(url(world.rooftop), {field: adf(ref=f"F-{field}").decode()})  # multipart
    assert response.status_code == 201, response.content
    response = client.post(url(world.rooftop), f"{field}=" + adf(ref=f"U-{field}").decode().replace("&", "%26").replace("+", "%2B"),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "created"


def test_a_stock_number_matches_inventory_and_an_unknown_vehicle_is_described(client, world):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop, stock_number="T7777")
    first = client.post(url(world.rooftop), adf(ref="S-1", stock="t7777"), content_type="text/xml").json()
    assert Lead.unscoped.get(pk=first["lead_id"]).vehicle == vehicle
    second = client.post(url(world.rooftop), adf(ref="S-2", stock="NOPE1"), content_type="text/xml").json()
    lead = Lead.unscoped.get(pk=second["lead_id"])
    assert lead.vehicle is None and lead.vehicle_description.startswith("2024 Toyota RAV4 XLE")


def test_the_same_lead_twice_is_one_lead_and_answers_duplicate(client, world):
    first = client.post(url(world.rooftop), adf(), content_type="application/xml").json()
    resend = adf().replace(b'status="new"', b'status="resend"')
    second = client.post(url(world.rooftop), resend, content_type="application/xml")
    assert second.status_code == 201
    assert second.json() == {"status": "duplicate", "lead_id": first["lead_id"], "customer_id": first["customer_id"]}
    assert Lead.unscoped.filter(rooftop=world.rooftop).count() == 1


def test_an_existing_customer_is_matched_by_email_within_the_group(client, world):
    known = make_customer(world.other_rooftop, first_name="Jane", last_name="Doe")
    add_contact(known, email="jane.doe@example.com")
    body = client.post(url(world.rooftop), adf(), content_type="application/xml").json()
    assert body["customer_id"] == known.pk
    # Now known at the rooftop the lead came to as well.
    assert CustomerRooftop.objects.filter(customer=known, rooftop=world.rooftop).exists()
    assert Customer.unscoped.count() == 1


def test_malformed_xml_is_400_with_the_reason_and_kept_for_review(client, world):
    response = client.post(url(world.rooftop), b"<adf><prospect>", content_type="application/xml")
    assert response.status_code == 400
    body = response.json()
    assert "not well-formed" in body["reason"]
    review = AdfReview.unscoped.get(pk=body["review_id"])
    assert review.raw == "<adf><prospect>" and review.status == "open" and review.rooftop == world.rooftop


def test_xml_that_is_not_a_usable_lead_is_201_needs_review(client, world):
    document = b"<adf><prospect><customer><contact><name part='first'>Nobody</name></contact></customer></prospect></adf>"
    response = client.post(url(world.rooftop), document, content_type="application/xml")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "needs_review" and body["lead_id"] is None
    assert "contact" in body["reason"]
    assert AdfReview.unscoped.filter(pk=body["review_id"], raw=document.decode()).exists()


def test_an_empty_post_is_400_with_a_reason(client, world):
    response = client.post(url(world.rooftop), b"", content_type="application/xml")
    assert response.status_code == 400 and "empty" in response.json()["reason"]
    assert not AdfReview.unscoped.exists()  # an empty body is nothing to review
    response = client.post(url(world.rooftop), {"other": "x"})
    assert response.status_code == 400 and "form field" in response.json()["reason"]


def test_over_one_megabyte_is_413(client, world):
    big = b"<adf>" + b" " * 1_000_001 + b"</adf>"
    response = client.post(url(world.rooftop), big, content_type="application/xml")
    assert response.status_code == 413
    assert "1 MB" in response.json()["reason"]
    assert not AdfReview.unscoped.exists()


def test_a_body_longer_than_its_content_length_claims_is_still_cut_at_the_limit(rf, world):
    from leads.intake_views import adf_intake

    big = b"<adf>" + b" " * 1_000_001 + b"</adf>"
    request = rf.post(url(world.rooftop), big, content_type="application/xml")
    request.META["CONTENT_LENGTH"] = "100"  # lies: the view must not trust it
    assert adf_intake(request, token=world.rooftop.lead_intake_token).status_code == 413


def test_a_wrong_token_is_404(client, world):
    response = client.post("/intake/adf/not-a-token/", adf(), content_type="application/xml")
    assert response.status_code == 404
    assert not Lead.unscoped.exists()


def test_get_is_not_allowed(client, world):
    assert client.get(url(world.rooftop)).status_code == 405


def test_a_billion_laughs_is_refused_fast_without_expanding(client, world):
    bomb = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">""" + b"".join(
        f'<!ENTITY lol{i} "{"&lol" + str(i - 1) + ";" if i > 1 else "&lol;"}{("&lol" + str(i - 1) + ";") * 9 if i > 1 else "&lol;" * 9}">'.encode()
        for i in range(1, 10)
    ) + b"""]><adf><prospect><customer><contact><name>&lol9;</name></contact></customer></prospect></adf>"""
    started = time.monotonic()
    response = client.post(url(world.rooftop), bomb, content_type="application/xml")
    assert time.monotonic() - started < 5  # loose: an expansion would take minutes and gigabytes, not seconds
    assert response.status_code == 400
    assert "refused" in response.json()["reason"]
    assert AdfReview.unscoped.get().refused


def test_an_external_entity_is_refused_and_no_file_is_read(client, world, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    document = f"""<?xml version="1.0"?><!DOCTYPE adf [<!ENTITY x SYSTEM "file://{secret}">]>
<adf><prospect><customer><contact><name>&x;</name><email>a@b.co</email></contact></customer></prospect></adf>"""
    response = client.post(url(world.rooftop), document, content_type="application/xml")
    assert response.status_code == 400
    assert "TOP-SECRET" not in response.content.decode()
    assert not Lead.unscoped.exists()


def _eml(path: Path, document: bytes, *, to: str, attach: bool) -> None:
    message = EmailMessage()
    message["From"] = "leads@cars.example"
    message["To"] = to
    message["Subject"] = "New lead"
    if attach:
        message.set_content("A new lead is attached.")
        message.add_attachment(document, maintype="application", subtype="xml", filename="lead.xml")
    else:
        message.set_content("Hello,\n\n" + document.decode() + "\n\n-- \nSent by the lead system")
    path.write_bytes(bytes(message))


def test_the_same_lead_by_mail_and_by_http_is_one_lead(client, world, tmp_path):
    token = world.rooftop.lead_intake_token
    _eml(tmp_path / "001.eml", adf(ref="MAIL-1"), to=f"Leads <leads+{token}@crm.example>", attach=True)
    call_command("adf_mailbox", folder=str(tmp_path))
    lead = Lead.unscoped.get(rooftop=world.rooftop)
    assert (tmp_path / "processed" / "001.eml").exists() and not (tmp_path / "001.eml").exists()
    response = client.post(url(world.rooftop), adf(ref="MAIL-1"), content_type="application/xml")
    assert response.json() == {"status": "duplicate", "lead_id": lead.pk, "customer_id": lead.customer_id}
    assert Lead.unscoped.count() == 1


def test_mail_with_the_adf_in_the_body_and_a_rooftop_flag(world, tmp_path):
    _eml(tmp_path / "a.eml", adf(ref="BODY-1"), to="leads@crm.example", attach=False)
    call_command("adf_mailbox", folder=str(tmp_path), rooftop=world.rooftop.slug)
    lead = Lead.unscoped.get()
    assert lead.rooftop == world.rooftop
    assert TimelineEntry.unscoped.get(lead=lead).detail["received_via"] == "email"


def test_mail_without_a_rooftop_is_moved_to_failed(world, tmp_path):
    _eml(tmp_path / "a.eml", adf(ref="X-1"), to="leads@crm.example", attach=True)
    call_command("adf_mailbox", folder=str(tmp_path))
    assert (tmp_path / "failed" / "a.eml").exists()
    assert not Lead.unscoped.exists()


def test_every_sample_document_becomes_a_lead(client, world):
    for path in sorted(SAMPLES.glob("*.xml")):
        response = client.post(url(world.rooftop), path.read_bytes(), content_type="application/xml")
        assert response.status_code == 201, (path.name, response.content)
        assert response.json()["status"] in ("created", "duplicate"), path.name


# --- the needs-review queue ----------------------------------------------------------------------


def test_staff_fix_the_xml_and_accept_it_as_a_lead(client, world):
    broken = adf(ref="FIX-1").replace(b"</adf>", b"")
    review_id = client.post(url(world.rooftop), broken, content_type="application/xml").json()["review_id"]
    client.force_login(world.bdc)
    page = client.get("/leads/needs-review/")
    assert page.status_code == 200 and b"not well-formed" in page.content
    still_broken = client.post(f"/leads/needs-review/{review_id}/", {"raw": broken.decode(), "action": "accept"})
    assert still_broken.status_code == 422 and b"Still not readable" in still_broken.content
    fixed = client.post(f"/leads/needs-review/{review_id}/", {"raw": adf(ref="FIX-1").decode(), "action": "accept"})
    assert fixed.status_code == 302
    review = AdfReview.unscoped.get(pk=review_id)
    assert review.status == "accepted" and review.lead is not None and review.resolved_by == world.bdc
    assert fixed["Location"] == f"/customers/{review.lead.customer_id}/"


def test_the_review_queue_is_scoped_to_the_rooftop(client, world):
    review_id = client.post(url(world.rooftop), b"<adf>", content_type="application/xml").json()["review_id"]
    from factories import make_staff
    from rooftops.models import Role

    other_manager = make_staff(world.other_rooftop, Role.MANAGER)
    client.force_login(other_manager)
    assert b"<adf>" not in client.get("/leads/needs-review/").content
    assert client.get(f"/leads/needs-review/{review_id}/").status_code == 404
    client.force_login(world.outsider)  # a salesperson: not their queue at all
    assert client.get("/leads/needs-review/").status_code == 404
    client.logout()
    assert client.get("/leads/needs-review/").status_code == 302


# --- export ---------------------------------------------------------------------------------------


def test_a_lead_exports_as_adf_that_reads_back(client, world):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    lead_id = client.post(url(world.rooftop), adf(vin=vehicle.vin), content_type="application/xml").json()["lead_id"]
    client.force_login(world.salesperson)
    response = client.get(f"/leads/{lead_id}/adf/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    again = parse_adf(response.content)
    assert again.contact.emails == ("jane.doe@example.com",)
    assert again.vehicles_of_interest[0].vin == vehicle.vin
    assert again.trade_ins[0].make == "Honda"
    assert again.provider_ref == str(lead_id)
    api = client.get(f"/api/leads/{lead_id}/adf/")
    assert api.status_code == 200 and api.content == response.content


def test_export_is_scoped(client, world):
    lead_id = client.post(url(world.rooftop), adf(), content_type="application/xml").json()["lead_id"]
    client.force_login(world.outsider)
    assert client.get(f"/leads/{lead_id}/adf/").status_code == 404
    assert client.get(f"/api/leads/{lead_id}/adf/").status_code == 404
    client.logout()
    assert client.get(f"/leads/{lead_id}/adf/").status_code == 302
    assert client.get(f"/api/leads/{lead_id}/adf/").status_code in (401, 403)
