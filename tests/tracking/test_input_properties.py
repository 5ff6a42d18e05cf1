"""Property tests of the public doors' input handling: whatever a sender posts, the answer is a clear 4xx or
success, never a 5xx. The collector gets any JSON value and any bytes; the ADF parser and its HTTP door get any
text and bytes, and documents built from ADF's own element names."""

import json

import pytest
from hypothesis import HealthCheck, example, given, settings as hypothesis_settings, strategies as st

from factories import RooftopFactory
from leads.adf import AdfError, parse_adf_many

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = hypothesis_settings(max_examples=60, deadline=None, database=None,
                                        suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                               HealthCheck.too_slow])
COLLECTOR_ANSWERS = {200, 400, 401, 404, 413, 415, 422}
ADF_ANSWERS = {201, 400, 413, 422}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)
# Messages shaped like Segment's, with any value in any field a sender might fill.
segment_keys = st.sampled_from(["type", "event", "anonymousId", "userId", "messageId", "timestamp", "sentAt",
                                "properties", "traits", "context", "previousId", "name", "writeKey", "batch"])
messages = st.dictionaries(segment_keys, json_values, max_size=8)
bodies = st.one_of(
    json_values,
    messages,
    st.builds(lambda batch, extra: {"batch": batch, **extra}, st.lists(messages | json_values, max_size=5),
              st.dictionaries(segment_keys, json_values, max_size=3)),
)


@pytest.fixture
def write_key():
    RooftopFactory(tracking_write_key="wk_property")
    return "wk_property"


@PROPERTY_SETTINGS
@example(body={"batch": [{"type": []}]}, path="batch")  # found by this test: a 500 (unhashable type)
@example(body={"batch": [{"type": {"a": 1}}]}, path="batch")
@given(body=bodies, path=st.sampled_from(["batch", "track", "page", "identify", "alias", "group", "screen"]))
def test_any_json_to_the_collector_is_answered_without_a_server_error(client, write_key, body, path):
    response = client.post(f"/v1/{path}", json.dumps(body), content_type="application/json",
                           HTTP_AUTHORIZATION="Basic d2tfcHJvcGVydHk6")  # wk_property:
    assert response.status_code in COLLECTOR_ANSWERS, (response.status_code, response.content[:300])
    assert response.json()["success"] is (response.status_code == 200)


@PROPERTY_SETTINGS
@given(raw=st.binary(max_size=2000), encoding=st.sampled_from(["", "gzip", "deflate", "br"]),
       content_type=st.sampled_from(["application/json", "text/plain", "application/xml", ""]))
def test_any_bytes_to_the_collector_are_answered_without_a_server_error(client, write_key, raw, encoding,
                                                                        content_type):
    response = client.post("/v1/batch", raw, content_type=content_type, HTTP_CONTENT_ENCODING=encoding,
                           HTTP_AUTHORIZATION="Basic d2tfcHJvcGVydHk6")
    assert response.status_code in COLLECTOR_ANSWERS | {415}, (response.status_code, response.content[:300])


ADF_TAGS = ["adf", "prospect", "id", "requestdate", "vehicle", "year", "make", "model", "vin", "stock", "customer",
            "contact", "name", "email", "phone", "address", "comments", "vendor", "provider", "trade-in", "price"]
xml_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)


@st.composite
def adf_like(draw, depth=0):
    tag = draw(st.sampled_from(ADF_TAGS))
    attrs = draw(st.dictionaries(st.sampled_from(["part", "type", "interest", "status", "sequence", "source"]),
                                 st.text(alphabet="abc-XYZ 019", max_size=8), max_size=2))
    children = draw(st.lists(adf_like(depth + 1), max_size=3)) if depth < 3 else []
    from xml.sax.saxutils import escape, quoteattr
    attr_text = "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items())
    return f"<{tag}{attr_text}>{escape(draw(xml_text))}{''.join(children)}</{tag}>"


@PROPERTY_SETTINGS
@given(document=st.one_of(st.binary(max_size=3000), xml_text, adf_like().map(lambda x: f"<?adf version=\"1.0\"?>{x}")))
def test_the_adf_parser_reads_or_refuses_anything_with_its_own_error(document):
    try:
        leads = parse_adf_many(document)
    except AdfError as exc:
        assert str(exc)  # a reason a person can act on
    else:
        assert isinstance(leads, list)


@PROPERTY_SETTINGS
@given(document=st.one_of(st.binary(max_size=3000), adf_like().map(lambda x: f"<?xml version=\"1.0\"?>{x}".encode())),
       content_type=st.sampled_from(["application/xml", "text/plain", "application/x-www-form-urlencoded",
                                     "multipart/form-data; boundary=xyz", "application/json"]))
def test_any_bytes_to_adf_intake_are_answered_without_a_server_error(client, document, content_type):
    rooftop = RooftopFactory()
    response = client.post(f"/intake/adf/{rooftop.lead_intake_token}/", document, content_type=content_type)
    assert response.status_code in ADF_ANSWERS, (response.status_code, response.content[:300])
