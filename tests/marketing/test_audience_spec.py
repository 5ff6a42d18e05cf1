"""Reading a campaign's audience (marketing.audience.AudienceSpec.parse: pure)."""

import pytest

from marketing.audience import MAX_VIEWED_MODELS, AudienceError, AudienceSpec


@pytest.mark.parametrize("data, words", [
    (None, "must be a set of choices"),
    ([], "must be a set of choices"),
    ("lease_maturing", "must be a set of choices"),
    ({"triggers": [1, 2]}, "Triggers must be a list"),
    ({"triggers": {"a": 1}}, "Triggers must be a list"),
    ({"triggers": ["lease_maturing", "x" * 500]}, "Unknown trigger 'xxxx"),
    ({"viewed_models": [3]}, "Viewed models must be a list"),
    ({"viewed_models": [f"Model {n}" for n in range(MAX_VIEWED_MODELS + 1)]}, "At most 20 models; this names 21"),
    ({"viewed_models": ["RAV4"], "viewed_days": "ten"}, "must be a number"),
    ({"viewed_models": ["RAV4"], "viewed_days": 45}, "must be one of 7, 14, 30, 60, 90"),
    ({"viewed_models": ["RAV4"], "viewed_days": [1]}, "must be a number"),
    ({"triggers": ["service_due"], "match": "most"}, "Match must be 'any' or 'all'"),
])
def test_what_cannot_be_meant_is_refused_with_words(data, words):
    with pytest.raises(AudienceError, match=words[:30].replace("(", r"\(").replace("'", "'")):
        AudienceSpec.parse(data)


def test_an_unknown_triggers_name_is_cut_short_in_the_message():
    with pytest.raises(AudienceError) as error:
        AudienceSpec.parse({"triggers": ["x" * 500]})
    assert len(str(error.value)) < 200


def test_an_empty_audience_parses_but_cannot_be_sent():
    spec = AudienceSpec.parse({})
    assert spec.is_empty
    with pytest.raises(AudienceError, match="Choose at least one"):
        spec.require_someone()


def test_form_input_is_normalised():
    spec = AudienceSpec.parse({"triggers": "service_due", "viewed_models": "Toyota  RAV4, rav4\nHonda Civic,,",
                               "viewed_days": "14", "price_drop_subscribers": "on"})
    assert spec.triggers == ("service_due",)
    assert spec.viewed_models == ("Toyota RAV4", "rav4", "Honda Civic")
    assert (spec.viewed_days, spec.price_drop_subscribers, spec.match) == (14, True, "any")


@pytest.mark.parametrize("triggers, viewed, purpose", [
    (["service_due"], [], "service_reminders"),
    (["service_due", "no_visit_12_months"], [], "service_reminders"),
    (["service_due", "positive_equity"], [], "marketing"),
    (["service_due"], ["RAV4"], "marketing"),
    ([], ["RAV4"], "marketing"),
])
def test_only_upkeep_triggers_make_a_service_reminder(triggers, viewed, purpose):
    assert AudienceSpec.parse({"triggers": triggers, "viewed_models": viewed}).purpose == purpose


def test_the_json_form_reads_back_the_same():
    spec = AudienceSpec.parse({"triggers": ["lease_maturing", "lease_maturing", "positive_equity"],
                               "viewed_models": ["RAV4"], "viewed_days": 60, "match": "all"})
    assert spec.triggers == ("lease_maturing", "positive_equity")
    assert AudienceSpec.parse(spec.as_json()) == spec
    assert spec.describe() == "Lease ends soon and Car worth more than they owe and viewed RAV4 (last 60 days)"
