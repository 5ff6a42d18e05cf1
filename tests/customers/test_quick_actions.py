"""Quick actions on the customer page: call, note, text/email (consent and quiet hours), appointments, outcomes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from customers.models import Appointment, ConsentRecord, TimelineEntry
from customers.outbound import message_send_from_staff
from customers.services import ActionRefused
from factories import LeadFactory, add_contact, make_customer
from leads.models import LeadStatusChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(world):
    c = make_customer(world.rooftop, first_name="Quinn", last_name="Action", time_zone="America/New_York")
    add_contact(c, email="quinn@example.com", phone="+16175550100")
    return c


def consent(customer, granted=True, channel="sms"):
    ConsentRecord.objects.create(customer=customer, dealer_group=customer.dealer_group, channel=channel,
                                 purpose="transactional", granted=granted, source="test")


def test_logging_a_call_adds_it_to_the_timeline_and_stamps_the_lead(client, world, customer):
    lead = LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=world.salesperson)
    client.force_login(world.salesperson)
    response = client.post(f"/customers/{customer.pk}/calls/", {"direction": "out", "outcome": "Left voicemail",
                                                                "notes": "Asked about the RAV4", "lead": lead.pk},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Call logged." in html and 'hx-swap-oob="afterbegin:#timeline-entries"' in html
    entry = TimelineEntry.unscoped.get(customer=customer, kind="call")
    assert entry.actor == world.salesperson and entry.direction == "out" and entry.body == "Asked about the RAV4"
    lead.refresh_from_db()
    assert lead.first_attempt_at is not None and lead.status == "working"


def test_a_call_without_an_outcome_is_refused_with_a_message(client, world, customer):
    client.force_login(world.salesperson)
    response = client.post(f"/customers/{customer.pk}/calls/", {"direction": "out"})
    assert response.status_code == 422 and "This field is required" in response.content.decode()
    assert not TimelineEntry.unscoped.filter(kind="call").exists()


def test_adding_a_note_and_an_empty_note(client, world, customer):
    client.force_login(world.advisor)
    assert client.post(f"/customers/{customer.pk}/notes/", {"text": "Needs tires soon"}).status_code == 200
    note = TimelineEntry.unscoped.get(kind="note")
    assert note.department == "service" and note.body == "Needs tires soon"
    empty = client.post(f"/customers/{customer.pk}/notes/", {"text": "   "})
    assert empty.status_code == 422 and "Write something" in empty.content.decode()


def test_a_text_needs_consent(world, customer):
    with pytest.raises(ActionRefused, match="not agreed to receive texts"):
        message_send_from_staff(customer=customer, rooftop=world.rooftop, user=world.salesperson, kind="text", body="Hi")
    consent(customer, granted=True)
    consent(customer, granted=False)
    with pytest.raises(ActionRefused, match="revoked"):
        message_send_from_staff(customer=customer, rooftop=world.rooftop, user=world.salesperson, kind="text", body="Hi")


def test_a_text_waits_for_the_end_of_quiet_hours_on_the_customers_clock(world, customer):
    consent(customer)
    late = datetime(2026, 11, 20, 22, 30, tzinfo=ZoneInfo("America/New_York"))
    with pytest.raises(ActionRefused, match="Quiet hours.*8:00 AM"):
        message_send_from_staff(customer=customer, rooftop=world.rooftop, user=world.salesperson, kind="text",
                                body="Hi", now=late)
    daytime = late.replace(hour=10)
    entry = message_send_from_staff(customer=customer, rooftop=world.rooftop, user=world.salesperson, kind="text",
                                    body="Your RAV4 is ready", now=daytime)
    assert entry.kind == "text" and entry.direction == "out" and entry.detail["to"] == "+16175550100"


def test_an_email_through_the_page_is_recorded_and_handed_to_messaging_after_commit(
        client, world, customer, django_capture_on_commit_callbacks):
    client.force_login(world.salesperson)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/customers/{customer.pk}/messages/", {"kind": "email", "subject": "Your quote",
                                                                       "body": "Attached."})
    assert response.status_code == 200
    assert "not sent to the customer" not in response.content.decode()
    entry = TimelineEntry.unscoped.get(kind="email")
    assert entry.detail["to"] == "quinn@example.com" and "Your quote" in entry.summary
    # customers.messaging took it: one outbox message for the entry (delivery tests live with messaging).
    assert entry.detail["outbound_message_id"] and entry.detail["delivery"] in ("queued", "waiting_quiet_hours")


def test_setting_an_appointment_reads_the_time_on_the_rooftops_clock(client, world, customer):
    lead = LeadFactory(rooftop=world.rooftop, customer=customer, status="working")
    client.force_login(world.salesperson)
    day = (timezone.now() + timedelta(days=3)).astimezone(ZoneInfo(world.rooftop.time_zone)).date()
    response = client.post(f"/customers/{customer.pk}/appointments/", {
        "kind": "test_drive", "scheduled_at": f"{day:%Y-%m-%d}T10:30", "lead": lead.pk})
    assert response.status_code == 200, response.content
    appointment = Appointment.unscoped.get()
    local = appointment.scheduled_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.date(), local.hour, local.minute) == (day, 10, 30)
    lead.refresh_from_db()
    assert lead.status == "appointment_set"
    past = client.post(f"/customers/{customer.pk}/appointments/", {"kind": "test_drive", "scheduled_at": "2020-01-01T10:00"})
    assert past.status_code == 422 and "already passed" in past.content.decode()


def test_marking_a_test_drive_shown_and_another_no_show(client, world, customer):
    lead = LeadFactory(rooftop=world.rooftop, customer=customer, status="appointment_set")
    drive = Appointment.unscoped.create(rooftop=world.rooftop, customer=customer, lead=lead, department="sales",
                                        kind="test_drive", scheduled_at=timezone.now())
    visit = Appointment.unscoped.create(rooftop=world.rooftop, customer=customer, department="sales",
                                        kind="sales_visit", scheduled_at=timezone.now())
    client.force_login(world.salesperson)
    assert client.post(f"/customers/{customer.pk}/appointments/{drive.pk}/mark/", {"status": "shown"}).status_code == 200
    assert client.post(f"/customers/{customer.pk}/appointments/{visit.pk}/mark/", {"status": "no_show"}).status_code == 200
    drive.refresh_from_db()
    visit.refresh_from_db()
    assert (drive.status, visit.status) == ("shown", "no_show")
    assert TimelineEntry.unscoped.filter(kind="test_drive", customer=customer).exists()
    assert "did not show" in TimelineEntry.unscoped.filter(kind="appointment").latest("id").summary
    lead.refresh_from_db()
    assert lead.status == "shown"
    assert client.post(f"/customers/{customer.pk}/appointments/{visit.pk}/mark/", {"status": "bogus"}).status_code == 422


def test_mark_sold_and_lost_with_a_reason(client, world, customer):
    sold = LeadFactory(rooftop=world.rooftop, customer=customer, status="shown", vehicle_description="2024 RAV4")
    lost = LeadFactory(rooftop=world.rooftop, customer=customer, status="working")
    client.force_login(world.salesperson)
    assert client.post(f"/customers/{customer.pk}/leads/{sold.pk}/sold/").status_code == 200
    no_reason = client.post(f"/customers/{customer.pk}/leads/{lost.pk}/lost/", {"reason": ""})
    assert no_reason.status_code == 422 and "why the lead was lost" in no_reason.content.decode()
    assert client.post(f"/customers/{customer.pk}/leads/{lost.pk}/lost/", {"reason": "Bought elsewhere"}).status_code == 200
    sold.refresh_from_db()
    lost.refresh_from_db()
    assert sold.status == "sold" and sold.sold_at is not None
    assert lost.status == "lost" and lost.lost_reason == "Bought elsewhere"
    assert LeadStatusChange.objects.get(lead=lost).reason == "Bought elsewhere"
    assert TimelineEntry.unscoped.get(kind="purchase").lead == sold
    assert TimelineEntry.unscoped.filter(kind="lead_status", lead=lost, summary__contains="Bought elsewhere").exists()


def test_actions_on_another_stores_lead_or_appointment_are_404(client, world, customer):
    from customers.models import CustomerRooftop

    CustomerRooftop.objects.create(customer=customer, rooftop=world.other_rooftop)
    their_lead = LeadFactory(rooftop=world.other_rooftop, customer=customer)
    their_appt = Appointment.unscoped.create(rooftop=world.other_rooftop, customer=customer, department="sales",
                                             kind="sales_visit", scheduled_at=timezone.now())
    client.force_login(world.salesperson)
    assert client.post(f"/customers/{customer.pk}/leads/{their_lead.pk}/lost/", {"reason": "x"}).status_code == 404
    assert client.post(f"/customers/{customer.pk}/appointments/{their_appt.pk}/mark/", {"status": "shown"}).status_code == 404
    assert client.post(f"/customers/{customer.pk}/calls/", {"direction": "out", "outcome": "No answer",
                                                           "lead": their_lead.pk}).status_code in (404, 422)
    their_lead.refresh_from_db()
    assert their_lead.status == "new"
    client.logout()
    response = client.post(f"/customers/{customer.pk}/notes/", {"text": "x"})
    assert response.status_code == 302 and "/login/" in response["Location"]


def _widget_templates_rendered(monkeypatch) -> list[str]:
    """Every widget template Django's form renderer renders from here on."""
    from django.forms.renderers import BaseRenderer

    rendered: list[str] = []
    render = BaseRenderer.render

    def counting(self, template_name, context, request=None):
        rendered.append(template_name)
        return render(self, template_name, context, request)

    monkeypatch.setattr(BaseRenderer, "render", counting)
    return rendered


def test_the_page_renders_the_blank_quick_action_forms_as_django_does_without_their_widget_templates(
        client, world, customer, monkeypatch):
    from customers.forms import QUICK_ACTION_FORMS

    client.force_login(world.salesperson)
    client.get(f"/customers/{customer.pk}/")  # the process's first page renders them once
    rendered = _widget_templates_rendered(monkeypatch)
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    # No lead and nothing else the customer changes: no quick action's widget template (the identity card's date of
    # birth is its own form's, which its error partial renders bound).
    assert rendered == ["django/forms/widgets/date.html"]
    for name, form_class in QUICK_ACTION_FORMS.items():
        form = form_class()
        for field in form.fields:
            if field != "lead" and f"{name}.{field}" not in ("message_form.subject", "appointment_form.notes"):
                assert str(form[field]) in html, (name, field)  # what Django renders for a blank form
    assert 'name="lead"' not in html  # no open lead: no lead picker


def test_the_lead_picker_is_the_customers_open_leads_escaped_and_rendered_once_for_all_four_forms(
        client, world, customer, monkeypatch):
    from customers.forms import CallForm

    LeadFactory(rooftop=world.rooftop, customer=customer, vehicle_description='<img src=x onerror="alert(1)">')
    client.force_login(world.salesperson)
    client.get(f"/customers/{customer.pk}/")
    rendered = _widget_templates_rendered(monkeypatch)
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    assert sorted(rendered) == ["django/forms/widgets/date.html", "django/forms/widgets/select.html"]
    assert "<img src=x" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    form = CallForm()
    form.set_leads(list(customer.leads.all()))
    assert html.count(str(form["lead"])) == 4  # the call, note, message and appointment forms each offer it
